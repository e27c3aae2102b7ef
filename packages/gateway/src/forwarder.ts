/**
 * Drains the uplink queue to the hub (decision 0040): batches of the oldest messages, in queue
 * order, at most `inflight` awaiting the hub's acknowledgement, at most `ratePerSecond` messages
 * a second. A batch is removed from the queue once the hub acknowledged it; when the link drops
 * or the hub refuses a batch, sending starts again from the oldest unacknowledged message, and
 * the hub's stores skip the ids they already hold.
 */
import { GATEWAY_UPLINK, type UplinkBatch } from '@bulwark/protocol';
import { QUEUE_FIRING, QUEUE_RULED, type QueuedMessage, type UplinkQueue } from './queue.js';

export interface ForwarderOptions {
  queue: UplinkQueue;
  /** Publishes on the gateway's own plane; resolves on the hub's acknowledgement. */
  send(rest: string, payload: Uint8Array): Promise<void>;
  connected(): boolean;
  batchMessages: number;
  batchBytes: number;
  inflight: number;
  ratePerSecond: number;
  log: (level: 'warn' | 'info' | 'debug', msg: string) => void;
  now?: () => number;
}

export interface ForwarderStats {
  batches: number;
  messages: number;
  failures: number;
}

export class Forwarder {
  /** The highest seq handed to the hub on this connection (reset when a batch fails). */
  #sentSeq = 0;
  #inflight = 0;
  #tokens: number;
  #refilledAt: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Bumped when sending starts over: acknowledgements of older rounds remove nothing twice. */
  #round = 0;
  readonly stats: ForwarderStats = { batches: 0, messages: 0, failures: 0 };
  readonly #now: () => number;

  constructor(private readonly o: ForwarderOptions) {
    this.#now = o.now ?? (() => Date.now());
    this.#tokens = o.batchMessages;
    this.#refilledAt = this.#now();
  }

  /** Something changed (new messages, the link came up): send what can be sent. */
  kick(): void {
    if (this.#stopped) return;
    while (this.#inflight < this.o.inflight && this.o.connected()) {
      this.#refill();
      const want = Math.min(this.o.batchMessages, Math.floor(this.#tokens));
      if (want < 1) {
        this.#later(Math.ceil(((1 - this.#tokens) * 1000) / this.o.ratePerSecond));
        return;
      }
      const batch = this.o.queue.peek(this.#sentSeq, want, this.o.batchBytes);
      if (batch.length === 0) return;
      this.#tokens -= batch.length;
      this.#sentSeq = batch[batch.length - 1]!.seq;
      this.#send(batch);
    }
  }

  /** The link went down: what was not acknowledged is sent again on the next connection. */
  reset(): void {
    this.#round++;
    this.#sentSeq = 0;
    this.#inflight = 0;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #refill(): void {
    const now = this.#now();
    const cap = Math.max(this.o.batchMessages, this.o.ratePerSecond / 10);
    this.#tokens = Math.min(
      cap,
      this.#tokens + ((now - this.#refilledAt) * this.o.ratePerSecond) / 1000,
    );
    this.#refilledAt = now;
  }

  #later(ms: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.kick();
      },
      Math.max(1, ms),
    );
  }

  #send(batch: QueuedMessage[]): void {
    const round = this.#round;
    this.#inflight++;
    const doc: UplinkBatch = {
      v: 1,
      messages: batch.map((m) => ({
        id: m.id,
        device: m.device,
        channel: m.channel,
        subtopic: m.channel === '' ? '' : m.subtopic,
        // A report on the device's own plane is queued with no channel (plane.ts); so is a
        // rule's firing (rules.ts), which has no subtopic either.
        ...(m.channel === '' && (m.flags ?? 0) & QUEUE_FIRING ? { firing: true as const } : {}),
        ...(m.channel === '' && !((m.flags ?? 0) & QUEUE_FIRING) ? { plane: m.subtopic } : {}),
        ...(m.channel !== '' && (m.flags ?? 0) & QUEUE_RULED ? { ruled: true as const } : {}),
        ...(m.contentType !== undefined ? { contentType: m.contentType } : {}),
        payload: Buffer.from(m.payload).toString('base64'),
      })),
    };
    const first = batch[0]!.seq;
    const last = batch[batch.length - 1]!.seq;
    this.o.send(GATEWAY_UPLINK, Buffer.from(JSON.stringify(doc))).then(
      () => {
        this.o.queue.remove(first, last);
        this.stats.batches++;
        this.stats.messages += batch.length;
        if (round !== this.#round) return;
        this.#inflight--;
        this.kick();
      },
      (err: Error) => {
        this.stats.failures++;
        if (round !== this.#round) return;
        this.o.log('warn', `uplink batch of ${batch.length} not acknowledged: ${err.message}`);
        this.reset();
        // Start over from the oldest unacknowledged message, after a pause.
        this.#later(500);
      },
    );
  }
}
