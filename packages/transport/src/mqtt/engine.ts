/**
 * The Bulwark MQTT engine: connections, routing, retained messages, access changes, limits and
 * statistics; sessions live in `session-table.ts`.
 * Transport-neutral ([STYLE.md habit 4]): listeners hand it Duplex streams.
 */
import type { Duplex } from 'node:stream';
import { reauthorizeSession } from './access.js';
import { Connection } from './connection.js';
import type {
  ConnectionMeta,
  DisconnectOptions,
  InjectedMessage,
  MqttDenial,
  MqttEngine,
  MqttEngineOptions,
  MqttLogger,
  MqttStats,
} from './engine-api.js';
import type { ClientIdentity, MqttHooks } from './hooks.js';
import { DENY_ALL } from './hooks.js';
import { resolveLimits } from './limits.js';
import type { MqttLimits } from './limits.js';
import { createMessage } from './message.js';
import type { Message, MessageProperties } from './message.js';
import { RC } from './reason-codes.js';
import { Persistence } from './persistence.js';
import { RetainedStore } from './retained.js';
import { countDrop } from './session.js';
import type { Session } from './session.js';
import { SessionTable } from './session-table.js';
import type { DeliveryCounters } from './session.js';
import { TopicTree } from './topic-tree.js';
import type { Subscription } from './topic-tree.js';
import { checkTopicName, filterMatches } from './topics.js';

export type {
  ConnectionMeta,
  DisconnectOptions,
  InjectedMessage,
  MqttDenial,
  MqttEngine,
  MqttEngineOptions,
  MqttLogger,
  MqttStats,
} from './engine-api.js';

const NOOP_LOG: MqttLogger = { warn() {}, info() {}, debug() {} };

/** Loopback sources: the simulator, benchmarks and a local reverse proxy. */
function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.');
}

/** Engine internals shared with connections and handlers. */
export class Engine implements MqttEngine {
  readonly limits: Readonly<MqttLimits>;
  readonly hooks: MqttHooks;
  readonly log: MqttLogger;
  readonly tree: TopicTree<Session>;
  readonly counters: DeliveryCounters & {
    messagesIn: number;
    publishersHeld: number;
    throttled: number;
    backpressured: number;
    overBudget: number;
  } = {
    messagesIn: 0,
    messagesOut: 0,
    queued: 0,
    publishersHeld: 0,
    throttled: 0,
    backpressured: 0,
    overBudget: 0,
    dropped: {},
  };
  /** PUBLISH packets read and not finished across connections (`limits.inboundBudget`). */
  inboundHeld = 0;
  private budgetWait: { promise: Promise<void>; resolve: () => void } | null = null;
  /** Bound once: every connection's window reports to it. */
  readonly holdInbound = (delta: number): void => {
    this.inboundHeld += delta;
    const w = this.budgetWait;
    if (w !== null && delta < 0 && this.inboundHeld <= this.budgetLow) {
      this.budgetWait = null;
      w.resolve();
    }
  };
  private budgetLow = 0;
  private readonly retainedStore: RetainedStore;
  /** Where retained messages and persistent sessions are stored (decision 0020); null: memory only. */
  readonly persistence: Persistence | null;
  /** Sessions by key: the authenticated principal (`ClientIdentity.id`), never a client id. */
  readonly sessions: SessionTable = new SessionTable(this);
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly admitted = new WeakSet<Connection>();
  private readonly deniedCounts = { connect: 0, publish: 0, subscribe: 0 };
  private readonly protocolErrors: Record<string, number> = {};
  private closed = false;

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  constructor(private readonly opts: MqttEngineOptions) {
    this.limits = resolveLimits(opts.limits);
    this.budgetLow = Math.floor((this.limits.inboundBudget * 3) / 4);
    this.hooks = opts.hooks ?? DENY_ALL;
    this.log = opts.log ?? NOOP_LOG;
    this.tree = new TopicTree<Session>(this.limits.matchCacheSize);
    this.persistence = opts.state !== undefined ? new Persistence(this, opts.state) : null;
    this.retainedStore = new RetainedStore(
      this.limits.maxRetained,
      this.limits.maxRetainedBytes,
      (topic) => this.persistence?.unretained(topic),
    );
  }

  /**
   * Undefined while the engine holds fewer PUBLISH packets than its budget; otherwise one promise,
   * shared by every connection that stopped reading, settled once it is back under three quarters.
   */
  overBudget(): Promise<void> | undefined {
    const budget = this.limits.inboundBudget;
    if (budget === 0 || this.inboundHeld < budget) return undefined;
    this.counters.overBudget++;
    if (this.budgetWait === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.budgetWait = { promise, resolve };
    }
    return this.budgetWait.promise;
  }

  async restore(): Promise<{ retained: number; sessions: number; ended: number }> {
    if (this.persistence === null) return { retained: 0, sessions: 0, ended: 0 };
    return this.persistence.restore();
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

  disconnect(sessionKey: string, reasonCode: number): boolean {
    const s = this.sessions.get(sessionKey);
    const link = s === undefined ? null : (s.link ?? s.attaching);
    if (link === null) return false;
    (link as Connection).fail(reasonCode, 'administrative');
    return true;
  }

  disconnectWhere(
    pred: (identity: ClientIdentity) => boolean,
    reasonCode: number,
    opts: DisconnectOptions = {},
  ): number {
    let cut = 0;
    // Every connection past authentication, including one whose resumed session is still being
    // authorized again (not live yet).
    for (const conn of [...this.connections]) {
      if (conn.identity === null || conn.state === 'closed' || !pred(conn.identity)) continue;
      // Expiry 0: the session ends with this connection ([MQTT-3.1.2-…]), will and all.
      if (opts.endSessions === true && conn.session !== null) conn.session.expiryInterval = 0;
      conn.fail(reasonCode, 'administrative');
      cut++;
    }
    if (opts.endSessions === true) {
      for (const s of this.sessions.all()) {
        if (s.link === null && s.attaching === null && pred(s.identity)) this.sessions.end(s);
      }
    }
    return cut;
  }

  async reauthorize(pred: (identity: ClientIdentity) => boolean): Promise<number> {
    const jobs: Array<Promise<number>> = [];
    for (const s of this.sessions.all()) {
      if (!pred(s.identity)) continue;
      jobs.push(
        Promise.resolve(reauthorizeSession(this, s, s.identity, 'reauthorize')).then(
          (r) => r.removed,
        ),
      );
    }
    const removed = await Promise.all(jobs);
    return removed.reduce((a, b) => a + b, 0);
  }

  deliverTo(sessionKey: string, m: InjectedMessage): boolean {
    const session = this.sessions.get(sessionKey);
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
    for (const s of this.sessions.all()) inflight += s.inflight.size;
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
      throttled: this.counters.throttled,
      backpressured: this.counters.backpressured,
      overBudget: this.counters.overBudget,
      inboundHeld: this.inboundHeld,
      dropped: { ...this.counters.dropped },
      denied: { ...this.deniedCounts },
      protocolErrors: { ...this.protocolErrors },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    // Stored state is written out as it is now, before connections and sessions go (decision 0020).
    this.persistence?.close();
    for (const c of [...this.connections]) c.fail(RC.SERVER_SHUTTING_DOWN, 'engine_closed');
    this.sessions.clear();
    await this.persistence?.writer.drain();
  }

  // ---- used by connections and handlers ----

  /** Count connections per source address; false when the limit is reached. */
  admitAddress(conn: Connection): boolean {
    const max = this.limits.maxConnectionsPerAddress;
    const addr = conn.meta.remoteAddress;
    if (max === 0 || (this.opts.addressLimitExempt ?? isLoopback)(addr)) return true;
    const n = this.perAddress.get(addr) ?? 0;
    if (max > 0 && n >= max) return false;
    this.perAddress.set(addr, n + 1);
    this.admitted.add(conn);
    return true;
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
    this.sessions.connectionClosed(conn, why, wasConnected);
  }

  /** Store or clear a retained message (in memory, and in the state store when there is one). */
  retain(msg: Message): void {
    if (!this.retainedStore.set(msg)) countDrop(this.counters, 'retained_store_full');
    else this.persistence?.retained(msg);
  }

  /** A retained message read back from the store at start. */
  restoreRetained(msg: Message): void {
    this.retainedStore.set(msg);
  }

  /** Retained messages for a new subscription (from the shared store in a cluster). */
  retainedFor(filter: string): Message[] | Promise<Message[]> {
    if (this.persistence?.shared === true) return this.persistence.retainedFor(filter);
    return this.retainedStore.match(filter);
  }

  /** A mark to ask `storedSince` about (what the state writer was given so far). */
  stateMark(): number {
    return this.persistence?.writer.mark() ?? 0;
  }

  /**
   * Resolves once the state written since `mark` (a routed message queued for persistent
   * sessions, a retained message) is stored; null when nothing was, or there is no store.
   */
  storedSince(mark: number): Promise<void> | null {
    return this.persistence?.writer.since(mark) ?? null;
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
  countDrop(reason: string, n = 1): void {
    countDrop(this.counters, reason, n);
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
  denied(
    client: ClientIdentity,
    kind: 'publish' | 'subscribe',
    topic: string,
    code: number,
    cause: MqttDenial['cause'],
  ): void {
    this.deniedCounts[kind]++;
    this.opts.onDenied?.({ client, kind, topic, reasonCode: code, cause });
  }
}

/** Create an MQTT engine. Without hooks it refuses every client (secure by default). */
export function createMqttEngine(opts: MqttEngineOptions = {}): MqttEngine {
  return new Engine(opts);
}
