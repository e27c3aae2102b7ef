/**
 * The Bulwark MQTT engine: sessions, routing, retained messages, wills, limits and statistics.
 * Transport-neutral ([STYLE.md habit 4]): listeners hand it Duplex streams.
 */
import type { Duplex } from 'node:stream';
import { Connection } from './connection.js';
import type { ClientIdentity, MqttHooks } from './hooks.js';
import { DENY_ALL } from './hooks.js';
import { resolveLimits } from './limits.js';
import type { MqttLimits } from './limits.js';
import { attempt, isPromise, then } from './maybe.js';
import { createMessage } from './message.js';
import type { Message, MessageProperties } from './message.js';
import { RC } from './reason-codes.js';
import { RetainedStore } from './retained.js';
import { Session, countDrop } from './session.js';
import type { DeliveryCounters } from './session.js';
import { TopicTree } from './topic-tree.js';
import type { Subscription } from './topic-tree.js';
import { checkTopicName, filterMatches } from './topics.js';

/** Where a connection came from. */
export interface ConnectionMeta {
  remoteAddress: string;
  /** 'tls' | 'tcp' | 'ws'. */
  listener: string;
  certificate?: { der: Uint8Array; subjectO?: string };
}

/** The structured logger the engine writes to (pino-compatible subset). */
export interface MqttLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** A denied connect, publish or subscribe, reported per client. */
export interface MqttDenial {
  client: ClientIdentity;
  kind: 'publish' | 'subscribe';
  topic: string;
  reasonCode: number;
}

/** Options of createMqttEngine. */
export interface MqttEngineOptions {
  /** Security hooks; an engine without them refuses everything (DENY_ALL). */
  hooks?: MqttHooks;
  limits?: Partial<MqttLimits>;
  log?: MqttLogger;
  /** Called for every denied publish or subscribe (per-device counting lives with the caller). */
  onDenied?: (d: MqttDenial) => void;
}

/** A message injected from the hub (bus) into local subscribers. */
export interface InjectedMessage {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain?: boolean;
  properties?: { contentType?: string; userProperties?: Record<string, string> };
}

/** Counters for metrics. */
export interface MqttStats {
  connections: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  messagesIn: number;
  messagesOut: number;
  /** QoS 1/2 messages waiting in session queues. */
  queued: number;
  /** QoS 1/2 messages sent and not yet acknowledged. */
  inflight: number;
  /** Publishers currently held back because a subscriber's queue is full. */
  publishersHeld: number;
  dropped: Record<string, number>;
  denied: { connect: number; publish: number; subscribe: number };
  protocolErrors: Record<string, number>;
}

/** The engine's public face. */
export interface MqttEngine {
  /** Serve one client connection over any Duplex (TCP, TLS, WebSocket, in-memory). */
  handle(stream: Duplex, meta: ConnectionMeta): void;
  /** Route a message from the hub to local subscribers (no hooks). */
  publish(msg: InjectedMessage): void;
  /** Cut a client's live connection (v5: DISCONNECT with the reason). False if not connected. */
  disconnect(clientId: string, reasonCode: number): boolean;
  /**
   * Deliver a message from the hub to one connected client only, through its own subscription
   * matching the topic (QoS the lower of the message's and the subscription's; the retain flag as
   * given, nothing stored). False when the client is not connected here or has no such
   * subscription.
   */
  deliverTo(clientId: string, msg: InjectedMessage): boolean;
  stats(): MqttStats;
  /** Close every connection and stop timers. */
  close(): Promise<void>;
}

const NOOP_LOG: MqttLogger = { warn() {}, info() {}, debug() {} };

/** Engine internals shared with connections and handlers. */
export class Engine implements MqttEngine {
  readonly limits: Readonly<MqttLimits>;
  readonly hooks: MqttHooks;
  readonly log: MqttLogger;
  readonly tree: TopicTree<Session>;
  readonly counters: DeliveryCounters & { messagesIn: number; publishersHeld: number } = {
    messagesIn: 0,
    messagesOut: 0,
    queued: 0,
    publishersHeld: 0,
    dropped: {},
  };
  private readonly retainedStore: RetainedStore;
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly admitted = new WeakSet<Connection>();
  private readonly deniedCounts = { connect: 0, publish: 0, subscribe: 0 };
  private readonly protocolErrors: Record<string, number> = {};
  private closed = false;

  constructor(private readonly opts: MqttEngineOptions) {
    this.limits = resolveLimits(opts.limits);
    this.hooks = opts.hooks ?? DENY_ALL;
    this.log = opts.log ?? NOOP_LOG;
    this.tree = new TopicTree<Session>(this.limits.matchCacheSize);
    this.retainedStore = new RetainedStore(this.limits.maxRetained);
  }

  handle(stream: Duplex, meta: ConnectionMeta): void {
    if (this.closed) {
      stream.destroy();
      return;
    }
    const conn = new Connection(this, stream, meta);
    this.connections.add(conn);
  }

  publish(m: InjectedMessage): void {
    const problem = checkTopicName(
      m.topic,
      Buffer.byteLength(m.topic),
      this.limits.maxTopicLength,
      this.limits.maxTopicLevels,
    );
    if (problem !== null) throw new Error(`invalid topic name (${problem}): ${m.topic}`);
    let props: MessageProperties | null = null;
    if (m.properties?.contentType !== undefined)
      (props ??= {}).contentType = m.properties.contentType;
    if (m.properties?.userProperties !== undefined) {
      (props ??= {}).userProperties = Object.entries(m.properties.userProperties);
    }
    const msg = createMessage(
      m.topic,
      Buffer.from(m.payload),
      m.qos,
      m.retain === true,
      props,
      0,
      null,
    );
    if (msg.retain) this.retain(msg);
    // The hub cannot be held back here: a full queue is a visible, counted refusal.
    if (msg.qos > 0) {
      const full = this.blockedBy(msg);
      if (full !== null) {
        countDrop(this.counters, 'injected_queue_full');
        this.log.warn(
          { topic: m.topic, subscriber: full.clientId },
          'mqtt injected message refused: queue full',
        );
        return;
      }
    }
    this.route(msg);
  }

  disconnect(clientId: string, reasonCode: number): boolean {
    const s = this.sessions.get(clientId);
    const link = s?.link;
    if (link === undefined || link === null) return false;
    const conn = link as Connection;
    conn.fail(reasonCode, 'administrative');
    return true;
  }

  deliverTo(clientId: string, m: InjectedMessage): boolean {
    const session = this.sessions.get(clientId);
    if (session === undefined || session.link === null) return false;
    let sub: Subscription<Session> | undefined;
    for (const s of session.subs.values()) {
      if (
        s.group === null &&
        filterMatches(s.filter, m.topic) &&
        (sub === undefined || s.qos > sub.qos)
      )
        sub = s;
    }
    if (sub === undefined) return false;
    const props: MessageProperties | null =
      m.properties?.contentType !== undefined ? { contentType: m.properties.contentType } : null;
    const msg = createMessage(
      m.topic,
      Buffer.from(m.payload),
      m.qos,
      m.retain === true,
      props,
      0,
      null,
    );
    session.deliver(
      msg,
      Math.min(m.qos, sub.qos),
      m.retain === true,
      sub.subId > 0 ? [sub.subId] : null,
    );
    return true;
  }

  stats(): MqttStats {
    let inflight = 0;
    for (const s of this.sessions.values()) inflight += s.inflight.size;
    return {
      connections: this.connections.size,
      sessions: this.sessions.size,
      subscriptions: this.tree.size,
      retained: this.retainedStore.size,
      messagesIn: this.counters.messagesIn,
      messagesOut: this.counters.messagesOut,
      queued: this.counters.queued,
      inflight,
      publishersHeld: this.counters.publishersHeld,
      dropped: { ...this.counters.dropped },
      denied: { ...this.deniedCounts },
      protocolErrors: { ...this.protocolErrors },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.connections]) c.fail(RC.SERVER_SHUTTING_DOWN, 'engine_closed');
    for (const s of this.sessions.values()) {
      if (s.expiryTimer !== null) clearTimeout(s.expiryTimer);
      if (s.willTimer !== null) clearTimeout(s.willTimer);
      s.clear();
    }
    this.sessions.clear();
  }

  // ---- used by connections and handlers ----

  /** Count connections per source address; false when the limit is reached. */
  admitAddress(conn: Connection): boolean {
    const max = this.limits.maxConnectionsPerAddress;
    const addr = conn.meta.remoteAddress;
    const n = this.perAddress.get(addr) ?? 0;
    if (max > 0 && n >= max) return false;
    this.perAddress.set(addr, n + 1);
    this.admitted.add(conn);
    return true;
  }

  /**
   * Bind an authenticated connection to its session ([MQTT-3.1.2-4]…[MQTT-3.1.2-6]), taking over a
   * live one with the same identity ([MQTT-3.1.4-3]). Returns Session Present.
   */
  attachSession(
    conn: Connection,
    identity: ClientIdentity,
    clean: boolean,
    expiry: number,
  ): boolean {
    const key = identity.id;
    const live = this.sessions.get(key)?.link;
    if (live !== undefined && live !== null) {
      // Take over: the old connection goes, with 0x8E for a v5 client.
      (live as Connection).fail(RC.SESSION_TAKEN_OVER, 'session_taken_over');
    }
    let session = this.sessions.get(key);
    let present = false;
    if (session !== undefined && clean) {
      // [MQTT-3.1.2-4] Clean Start discards the old session (its delayed will fires now).
      this.endSession(session);
      session = undefined;
    }
    if (session === undefined) {
      session = new Session(key, conn.clientId, identity, this.limits, this.counters);
      this.sessions.set(key, session);
    } else {
      present = true;
      if (session.expiryTimer !== null) clearTimeout(session.expiryTimer);
      session.expiryTimer = null;
      // [MQTT-3.1.3-9] Reconnecting within the Will Delay Interval cancels the will.
      if (session.willTimer !== null) clearTimeout(session.willTimer);
      session.willTimer = null;
      session.pendingWill = null;
      session.identity = identity;
      session.clientId = conn.clientId;
    }
    session.expiryInterval = expiry;
    session.link = conn;
    conn.session = session;
    return present;
  }

  /** A connection finished CONNECT. */
  connected(_conn: Connection, identity: ClientIdentity): void {
    this.hooks.onConnect?.(identity);
  }

  /** A connection closed: release its address slot, settle the will and the session. */
  connectionClosed(conn: Connection, why: string, wasConnected: boolean): void {
    this.connections.delete(conn);
    if (this.admitted.has(conn)) {
      this.admitted.delete(conn);
      const addr = conn.meta.remoteAddress;
      const n = (this.perAddress.get(addr) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(addr);
      else this.perAddress.set(addr, n);
    }
    const session = conn.session;
    if (!wasConnected || session === null || session.link !== conn) {
      // A taken-over connection: the will is still owed ([MQTT-3.1.4-3] ends the old connection).
      if (wasConnected && conn.will !== null && !conn.cleanExit && conn.identity !== null) {
        this.publishWill(conn.identity, conn.will.msg);
      }
      return;
    }
    session.link = null;
    for (const w of [...session.waiters]) w(); // held publishers re-check (queue may now drain later)
    const will = conn.will !== null && !conn.cleanExit ? conn.will : null;
    const identity = conn.identity!;
    if (session.expiryInterval === 0 || this.closed) {
      if (will !== null) this.publishWill(identity, will.msg); // [MQTT-3.1.2-8]
      this.endSession(session);
    } else {
      if (will !== null) {
        const delay = Math.min(will.delaySeconds, session.expiryInterval);
        if (delay === 0) this.publishWill(identity, will.msg);
        else {
          // [MQTT-3.1.3-9] Publish after the Will Delay Interval or at session end, whichever first.
          session.pendingWill = { identity, msg: will.msg };
          session.willTimer = setTimeout(() => {
            session.willTimer = null;
            session.pendingWill = null;
            this.publishWill(identity, will.msg);
          }, delay * 1000);
          session.willTimer.unref();
        }
      }
      session.expiryTimer = setTimeout(() => {
        if (session.link === null) this.endSession(session);
      }, session.expiryInterval * 1000);
      session.expiryTimer.unref();
    }
    this.hooks.onDisconnect?.(identity, why, { clean: conn.cleanExit });
  }

  /** End a session: drop its subscriptions and queue, fire a delayed will still owed. */
  private endSession(session: Session): void {
    if (this.sessions.get(session.key) === session) this.sessions.delete(session.key);
    if (session.expiryTimer !== null) clearTimeout(session.expiryTimer);
    session.expiryTimer = null;
    if (session.willTimer !== null) {
      // A delayed will fires at the latest when the session ends ([MQTT-3.1.3-9]).
      clearTimeout(session.willTimer);
      session.willTimer = null;
      const w = session.pendingWill;
      if (w !== null) this.publishWill(w.identity, w.msg);
    }
    session.pendingWill = null;
    for (const sub of session.subs.values()) this.tree.remove(session, sub.filter, sub.group);
    session.subs.clear();
    const lost = session.clear();
    if (lost > 0) countDrop(this.counters, 'session_ended', lost);
  }

  /** Publish a will: authorized like any publish, then routed (and retained if asked). */
  private publishWill(identity: ClientIdentity, msg: Message): void {
    const r = then(
      attempt(() => this.hooks.authorizePublish(identity, msg.topic, msg.qos)),
      (code): void | Promise<void> => {
        if (code !== 0) {
          this.denied(identity, 'publish', msg.topic, code);
          return;
        }
        const hooks = this.hooks;
        const v = hooks.onPublish?.(identity, {
          topic: msg.topic,
          payload: msg.payload,
          qos: msg.qos,
          retain: msg.retain,
          ...(msg.props?.contentType !== undefined ? { contentType: msg.props.contentType } : {}),
          will: true,
        });
        return then(v, (verdict) => {
          if (verdict === false) return;
          if (msg.retain) this.retain(msg);
          this.route(msg);
        });
      },
    );
    if (isPromise(r)) {
      r.catch((err: unknown) =>
        this.log.warn({ err, topic: msg.topic }, 'mqtt will not published'),
      );
    }
  }

  /** Store or clear a retained message. */
  retain(msg: Message): void {
    if (!this.retainedStore.set(msg)) countDrop(this.counters, 'retained_store_full');
  }

  /** Retained messages for a new subscription. */
  retainedFor(filter: string): Message[] {
    return this.retainedStore.match(filter);
  }

  /** A session a QoS 1/2 message would be queued to whose queue is full, or null. */
  blockedBy(msg: Message): Session | null {
    const m = this.tree.match(msg.topic);
    for (const d of m.direct) {
      const q = msg.origin === d.session.key ? d.qosNotLocal : d.qos;
      if (q > 0 && d.session.isFull()) return d.session;
    }
    for (const g of m.shared) {
      const sub = g.members[g.next % g.members.length];
      if (sub !== undefined && sub.qos > 0 && sub.session.isFull()) return sub.session;
    }
    return null;
  }

  /** Route a message to every matching session; returns how many deliveries were made. */
  route(msg: Message): number {
    const m = this.tree.match(msg.topic);
    let n = 0;
    for (const d of m.direct) {
      // [MQTT-3.8.3-3] No Local: not back to the publisher's own session (it still matched).
      let qos = msg.origin === d.session.key ? d.qosNotLocal : d.qos;
      n++;
      if (qos < 0) continue;
      if (msg.qos < qos) qos = msg.qos; // [MQTT-3.8.4-8] min(published, granted)
      // v3.1.1 [MQTT-3.3.1-9] / v5 Retain As Published [MQTT-3.3.1-12], [MQTT-3.3.1-13].
      d.session.deliver(msg, qos, d.retainAsPublished && msg.retain, d.subIds);
    }
    for (const g of m.shared) {
      // Round-robin, preferring members that are online ([MQTT-4.8.2-…] one member per message).
      const len = g.members.length;
      let pick = g.members[g.next % len]!;
      for (let i = 0; i < len; i++) {
        const cand = g.members[(g.next + i) % len]!;
        if (cand.session.link !== null) {
          pick = cand;
          g.next = (g.next + i + 1) % len;
          break;
        }
      }
      pick.session.deliver(
        msg,
        Math.min(msg.qos, pick.qos),
        pick.retainAsPublished && msg.retain,
        pick.subId > 0 ? [pick.subId] : null,
      );
      n++;
    }
    return n;
  }

  /** Count a drop by reason. */
  countDrop(reason: string): void {
    countDrop(this.counters, reason);
  }

  /** Count a protocol-level close by reason. */
  countProtocolClose(why: string): void {
    this.protocolErrors[why] = (this.protocolErrors[why] ?? 0) + 1;
  }

  /** Count a refused CONNECT. */
  countRefusedConnect(why: string): void {
    this.deniedCounts.connect++;
    this.countProtocolClose(why);
  }

  /** Count and report a denied publish or subscribe. */
  denied(client: ClientIdentity, kind: 'publish' | 'subscribe', topic: string, code: number): void {
    this.deniedCounts[kind]++;
    this.opts.onDenied?.({ client, kind, topic, reasonCode: code });
  }
}

/** Create an MQTT engine. Without hooks it refuses every client (secure by default). */
export function createMqttEngine(opts: MqttEngineOptions = {}): MqttEngine {
  return new Engine(opts);
}
