/**
 * What the engine keeps in its MQTT state store (decision 0020) and when:
 * - a retained message, and every QoS 1/2 message queued for (or in flight to) a persistent
 *   session, joins the current batch as it is routed; the publisher's PUBACK (PUBREC) waits until
 *   that batch is stored (`StateWriter.since`);
 * - session heads (subscriptions, inbound QoS 2 ids, expiry) and acknowledgements (PUBACK,
 *   PUBREC, PUBCOMP from subscribers) are written behind in the same ordered batches: a crash
 *   within a batch may deliver a QoS 1 message again, never lose one that was acknowledged.
 * Everything is read back on start (`restore`), and in a cluster taken up from the store when a
 * client resumes its session on another node (`takeUp`).
 */
import type { MqttStateStore, MqttStoredSession } from '@bulwark/core';
import type { Connection } from './connection.js';
import type { Engine } from './engine.js';
import type { ClientIdentity } from './hooks.js';
import type { Message } from './message.js';
import { RC } from './reason-codes.js';
import { Session } from './session.js';
import type { Pending, SessionSink } from './session.js';
import { head, queuedRecord, retainedRecord, toMessage, toPending } from './state-codec.js';
import { StateWriter } from './state-writer.js';
import type { Subscription } from './topic-tree.js';
import { filterMatches, parseFilter } from './topics.js';

/** Options of the engine's persistence (`MqttEngineOptions.state`). */
export interface MqttStateOptions {
  store: MqttStateStore;
  /** This node's name as the owner of the sessions it holds; stable across its restarts. */
  node: string;
  /**
   * Several nodes share the store (a cluster): retained messages are read from the store, and a
   * client resuming its session takes it up from the store (wherever it was held before).
   */
  shared: boolean;
}

/** The engine's persistence: the sink its sessions write to, retained writes, restore. */
export class Persistence implements SessionSink {
  readonly writer: StateWriter;
  readonly shared: boolean;
  /** Set by `close()`: nothing more is written (memory is torn down, the store keeps it all). */
  private closing = false;
  private readonly store: MqttStateStore;
  private readonly node: string;

  constructor(
    private readonly engine: Engine,
    opts: MqttStateOptions,
  ) {
    this.store = opts.store;
    this.node = opts.node;
    this.shared = opts.shared;
    this.writer = new StateWriter(opts.store, opts.node, {
      notOwned: (keys) => this.disown(keys),
      failed: (err, ops) => {
        engine.countDrop('state_write_failed', ops);
        engine.log.warn({ err, ops }, 'mqtt state batch not stored');
      },
    });
  }

  // ---- retained ----

  retained(msg: Message): void {
    if (this.closing) return;
    if (msg.payload.length === 0) this.writer.add({ op: 'unretain', topic: msg.topic });
    else this.writer.add({ op: 'retain', record: retainedRecord(msg) });
  }

  unretained(topic: string): void {
    if (this.closing) return;
    this.writer.add({ op: 'unretain', topic });
  }

  /** Retained messages for `filter` from the shared store (after what this node has pending). */
  async retainedFor(filter: string): Promise<Message[]> {
    await this.writer.pending();
    const wild = Math.min(...['+', '#'].map((c) => filter.indexOf(c)).filter((i) => i >= 0));
    const prefix = Number.isFinite(wild) ? filter.slice(0, wild) : filter;
    const now = Date.now();
    const out: Message[] = [];
    for (const r of await this.store.retained(prefix)) {
      if (!filterMatches(filter, r.topic) || (r.expiresAt > 0 && r.expiresAt <= now)) continue;
      out.push(toMessage(r.topic, r.payload, r.qos, true, r.props, r.expiresAt));
    }
    return out;
  }

  // ---- sessions (SessionSink) ----

  /** A session was attached (new, resumed, or changed its expiry): store or forget it. */
  attached(s: Session): void {
    if (this.closing) return;
    s.expiresAt = null;
    if (s.expiryInterval === 0) return this.ended(s);
    if (s.state === null) {
      s.state = this;
      this.writer.add(() => (s.state === this ? { op: 'create', session: head(s) } : null));
      // A resumed in-memory session that was not stored before (it had expiry 0): its queue too.
      for (const item of s.pendingItems()) this.enqueued(s, item);
    } else this.changed(s);
  }

  /** The session went offline: it ends at `expiresAt` unless taken up. */
  offline(s: Session): void {
    if (this.closing) return;
    s.expiresAt = Date.now() + s.expiryInterval * 1000;
    if (s.state !== null) this.changed(s);
  }

  /** The session ended: delete it (and its queue) from the store. */
  ended(s: Session): void {
    if (s.state === null || this.closing) return;
    s.state = null;
    this.writer.add({ op: 'end', key: s.key });
  }

  /** Let go of a session in memory only (another node took it up). */
  release(s: Session): void {
    s.state = null;
  }

  changed(s: Session): void {
    if (this.closing) return;
    if (s.headQueued) return;
    s.headQueued = true;
    this.writer.add(() => {
      s.headQueued = false;
      return s.state === this ? { op: 'update', session: head(s) } : null;
    });
  }

  enqueued(s: Session, item: Pending): void {
    if (this.closing) return;
    item.seq = ++s.seq;
    item.st = 1;
    this.writer.add(() => {
      if (item.st !== 1 || s.state !== this) return null;
      item.st = 2;
      return { op: 'enqueue', key: s.key, item: queuedRecord(item) };
    });
  }

  sent(s: Session, item: Pending): void {
    if (item.st === 2 && !this.closing)
      this.writer.add({ op: 'sent', key: s.key, seq: item.seq, packetId: item.id });
  }

  released(s: Session, item: Pending): void {
    if (item.st === 2 && !this.closing)
      this.writer.add({ op: 'released', key: s.key, seq: item.seq });
  }

  done(s: Session, item: Pending): void {
    // Not stored yet: it never will be (the entry yields nothing).
    if (this.closing) return;
    if (item.st === 2) this.writer.add({ op: 'done', key: s.key, seq: item.seq });
    item.st = 0;
  }

  /**
   * The engine is closing (before its connections are cut): connected sessions go offline from
   * now, everything pending is fixed as it is now, and nothing more is written; `writer.drain()`
   * then stores it.
   */
  close(): void {
    for (const s of this.engine.sessions.all()) {
      if (s.state === this && s.expiresAt === null) this.offline(s);
    }
    this.writer.freeze();
    this.closing = true;
  }

  // ---- start, take-up, ownership ----

  /** Load retained messages (single node) and the sessions this node holds, at start. */
  async restore(): Promise<{ retained: number; sessions: number; ended: number }> {
    let retained = 0;
    if (!this.shared) {
      for (const r of await this.store.retained('')) {
        this.engine.restoreRetained(
          toMessage(r.topic, r.payload, r.qos, true, r.props, r.expiresAt),
        );
        retained++;
      }
    }
    // A single hub adopts every stored session (its previous process held them, whatever its name).
    const { ended, sessions } = await this.store.load(this.node, Date.now(), !this.shared);
    let n = 0;
    for (const stored of sessions) if (this.install(stored) !== null) n++;
    return { retained, sessions: n, ended };
  }

  /**
   * Before a client resumes session `key` in a cluster: take it up from the store, replacing a
   * stale copy held here. Nothing to do when this node held it all along.
   */
  async takeUp(key: string): Promise<void> {
    const t = await this.store.take(key, this.node, Date.now());
    const here = this.engine.sessions.get(key);
    if (t === undefined || (t.previousOwner === this.node && here !== undefined)) return;
    if (here !== undefined) this.dropStale(here);
    this.install(t);
  }

  /** Another node took these sessions up: drop the copies here (and their connections). */
  private disown(keys: string[]): void {
    for (const key of keys) {
      const s = this.engine.sessions.get(key);
      if (s === undefined || s.state !== this) continue;
      this.engine.log.info({ session: key }, 'mqtt session taken up by another node');
      this.dropStale(s);
    }
  }

  private dropStale(s: Session): void {
    this.release(s);
    // Its will, if any, belongs to the session's new holder now.
    if (s.willTimer !== null) clearTimeout(s.willTimer);
    s.willTimer = null;
    s.pendingWill = null;
    s.expiryInterval = 0;
    const link = s.link ?? s.attaching;
    // Out of memory now (subscriptions leave the topic tree before a fresh copy may enter it);
    // its connection, if any, is told the session was taken over.
    this.engine.sessions.end(s);
    if (link !== null) (link as Connection).fail(RC.SESSION_TAKEN_OVER, 'session_taken_over');
  }

  /** Put a stored session into the engine (offline), or null when it cannot be read back. */
  private install(stored: MqttStoredSession): Session | null {
    const h = stored.session;
    let identity: ClientIdentity;
    try {
      identity = JSON.parse(h.identity) as ClientIdentity;
    } catch (err) {
      this.engine.log.warn({ err, session: h.key }, 'mqtt stored session unreadable: skipped');
      return null;
    }
    const e = this.engine;
    const s = new Session(h.key, h.clientId, identity, e.limits, e.counters);
    s.expiryInterval = h.expiryInterval;
    s.expiresAt = h.expiresAt ?? Date.now() + h.expiryInterval * 1000;
    for (const r of h.subscriptions) {
      const parsed = parseFilter(r.filter, e.limits.maxTopicLength, e.limits.maxTopicLevels);
      if (typeof parsed === 'string') continue;
      const sub: Subscription<Session> = {
        session: s,
        raw: r.filter,
        filter: parsed.filter,
        group: parsed.group,
        qos: r.qos,
        noLocal: r.noLocal,
        retainAsPublished: r.retainAsPublished,
        retainHandling: r.retainHandling,
        subId: r.subId,
      };
      e.tree.add(sub);
      s.subs.set(r.filter, sub);
    }
    for (const id of h.inboundQos2) s.inboundQos2.add(id);
    s.restore(stored.queue.map(toPending));
    s.state = this;
    e.sessions.install(s);
    return s;
  }
}
