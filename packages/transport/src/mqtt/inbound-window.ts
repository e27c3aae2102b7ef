/**
 * The inbound window of one connection (decision record 0018): PUBLISH packets read but not yet
 * finished. The connection keeps reading while earlier messages are being authorized and stored;
 * each message's last step — route, retain, acknowledge, or refuse — is a `Commit` that runs
 * strictly in the order the packets were received, so PUBACKs and PUBRECs leave in that order
 * ([MQTT-4.6.0-2], [MQTT-4.6.0-3]) and subscribers see the publisher's order ([MQTT-4.6.0-6]).
 * When the window is full the connection stops reading: backpressure reaches the publisher.
 */
import { isPromise } from './maybe.js';
import type { Maybe } from './maybe.js';

/** What a PUBLISH leaves to do once its own work settled; runs in the order received. */
export type Commit = () => void;

/**
 * A one-shot gate: opened once a message was handed to `onPublish` (or refused), so the next one
 * is handed on after it and storage sees messages in the order received.
 */
export class Turn {
  private open = false;
  private waiting: Array<() => void> | null = null;

  /** Let the next message go on. Idempotent. */
  release(): void {
    if (this.open) return;
    this.open = true;
    const w = this.waiting;
    this.waiting = null;
    if (w !== null) for (const f of w) f();
  }

  /** Nothing when open, else a promise that resolves on `release`. */
  wait(): Maybe<void> {
    if (this.open) return undefined;
    return new Promise<void>((resolve) => (this.waiting ??= []).push(resolve));
  }
}

interface Entry {
  commit: Commit | void;
  ready: boolean;
  /** QoS 1/2: the client waits for a PUBACK/PUBREC from this entry. */
  acked: boolean;
  bytes: number;
}

/** Bounds of the window. */
export interface WindowBounds {
  /** Messages of any QoS in the window. */
  messages: number;
  /** QoS 1/2 messages not yet acknowledged (v5: our Receive Maximum). */
  acked: number;
  /** Packet bytes the window's messages hold. */
  bytes: number;
}

/** A connection's inbound PUBLISH window. */
export class InboundWindow {
  private entries: Entry[] = [];
  private head = 0;
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  private last: Turn | null = null;
  /** The last acknowledgement deferred behind a state commit (decision 0020), or null. */
  private ackTail: Promise<void> | null = null;
  /** Acknowledgements deferred and not yet sent. */
  private acksPending = 0;
  /** QoS 1/2 entries whose acknowledgement has not been sent. */
  unacked = 0;
  /** Bytes held by the entries. */
  bytes = 0;
  /**
   * Inbound QoS 2 packet ids in the window (-1) or refused while it was not empty (the reason
   * code sent): a duplicate PUBLISH is answered with the same PUBREC, never stored twice.
   */
  readonly qos2 = new Map<number, number>();

  /** Told how many messages entered (+) or left (−) the window: the engine's shared budget. */
  private held: ((delta: number) => void) | null;

  constructor(
    private readonly bounds: WindowBounds,
    private readonly onError: (err: unknown) => void,
    held?: (delta: number) => void,
  ) {
    this.held = held ?? null;
  }

  /**
   * The connection closed: give back what the window still holds to the shared budget now (its
   * entries still finish, uncounted), so a message whose work never settles cannot keep it.
   */
  detach(): void {
    const held = this.held;
    this.held = null;
    if (held !== null && this.size > 0) held(-this.size);
  }

  /** Messages in the window. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** True when no more PUBLISH may be read until an entry finishes. */
  isFull(): boolean {
    return (
      this.size >= this.bounds.messages ||
      this.unacked >= this.bounds.acked ||
      this.bytes >= this.bounds.bytes
    );
  }

  /** The turn of the next message: it waits for `prev` and releases `mine` once handed on. */
  turn(): { prev: Turn | null; mine: Turn } {
    const prev = this.last;
    const mine = new Turn();
    this.last = mine;
    return { prev, mine };
  }

  /**
   * Add one message's outcome. A commit available now runs at once when nothing is ahead of it
   * (the synchronous fast path); otherwise it runs when every earlier entry has run.
   */
  add(outcome: Maybe<Commit | void>, qos: number, bytes: number, turn?: Turn): void {
    if (!isPromise(outcome)) {
      turn?.release();
      if (this.size === 0) {
        if (outcome !== undefined) outcome();
        this.settled();
        return;
      }
      this.entries.push({ commit: outcome, ready: true, acked: qos > 0, bytes });
      if (qos > 0) this.unacked++;
      this.bytes += bytes;
      this.held?.(1);
      return;
    }
    const e: Entry = { commit: undefined, ready: false, acked: qos > 0, bytes };
    this.entries.push(e);
    if (qos > 0) this.unacked++;
    this.bytes += bytes;
    this.held?.(1);
    outcome.then(
      (c) => {
        turn?.release();
        e.commit = c;
        e.ready = true;
        this.drain();
      },
      (err: unknown) => {
        turn?.release();
        e.ready = true;
        e.commit = () => this.onError(err);
        this.drain();
      },
    );
  }

  /** Resolves once there is room for another message. */
  whenRoom(): Promise<void> {
    return this.when(() => !this.isFull());
  }

  /**
   * Resolves once every message in the window has finished and its acknowledgement left (a
   * barrier for other packets).
   */
  whenEmpty(): Promise<void> {
    return this.when(() => this.idle());
  }

  /**
   * Sends an acknowledgement in the order received: at once, unless one deferred behind a state
   * commit (`defer`) is still waiting — then after it.
   */
  inOrder(send: () => void): void {
    if (this.ackTail === null) return send();
    this.defer(Promise.resolve(), send, send);
  }

  /**
   * Defers a commit's acknowledgement until `stored` settled (`ok`) or failed (`fail`), behind
   * every acknowledgement deferred before it, so PUBACKs still leave in the order received. It
   * counts against the window's bound of unacknowledged messages until it is sent.
   */
  defer(stored: Promise<void>, ok: () => void, fail: () => void): void {
    this.acksPending++;
    this.unacked++;
    const prev = this.ackTail;
    const p = (prev === null ? stored : prev.then(() => stored))
      .then(ok, fail)
      .catch((err: unknown) => this.onError(err))
      .then(() => {
        this.acksPending--;
        this.unacked--;
        if (this.ackTail === p) this.ackTail = null;
        this.settled();
      });
    this.ackTail = p;
  }

  private idle(): boolean {
    return this.size === 0 && this.acksPending === 0;
  }

  private when(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ test, resolve }));
  }

  /** Run every ready entry at the head, in order. */
  private drain(): void {
    while (this.head < this.entries.length) {
      const e = this.entries[this.head]!;
      if (!e.ready) break;
      this.entries[this.head++] = undefined as unknown as Entry;
      if (e.acked) this.unacked--;
      this.bytes -= e.bytes;
      this.held?.(-1);
      if (e.commit !== undefined) e.commit();
    }
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 256 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.settled();
  }

  /** Forget what only an open window needs, and wake waiters whose condition now holds. */
  private settled(): void {
    if (this.idle()) {
      this.qos2.clear();
      this.last = null;
    }
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.test());
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
