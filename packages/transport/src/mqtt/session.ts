/**
 * A client's session state ([MQTT-4.1.0-1]): subscriptions, outbound QoS 1/2 in flight and queued,
 * inbound QoS 2 packet identifiers. It outlives its connection when the client asked for a
 * persistent session, and every queue in it is bounded.
 */
import type { ClientIdentity } from './hooks.js';
import type { MqttLimits } from './limits.js';
import type { Message } from './message.js';
import { encodePublish, encodeQos0Cached } from './codec/publish.js';
import { encodeAck } from './codec/packets.js';
import type { Subscription } from './topic-tree.js';

/** What a session needs from its live connection. */
export interface SessionLink {
  readonly v5: boolean;
  /** The client's Receive Maximum capped by ours. */
  readonly sendQuota: number;
  /** The client's Maximum Packet Size (v5), or Infinity. */
  readonly clientMaxPacket: number;
  /** True when the socket has more than the high-water mark buffered. */
  isSlow(): boolean;
  write(buf: Buffer): void;
}

/** Counters shared by all sessions of an engine. */
export interface DeliveryCounters {
  messagesOut: number;
  queued: number;
  dropped: Record<string, number>;
}

/** A QoS 1/2 message waiting for (or in) flight. */
export interface Pending {
  msg: Message;
  qos: number;
  retain: boolean;
  subIds: number[] | null;
  /** For in-flight QoS 2: true once PUBREC came and PUBREL was sent. */
  released: boolean;
  /** The packet id it was sent with; 0 while queued. */
  id: number;
  /** Order within the session's stored queue (0: not stored). */
  seq: number;
  /** Stored state: 0 not stored, 1 waiting in the writer's batch, 2 handed to the store. */
  st: 0 | 1 | 2;
}

/**
 * Where a persistent session's changes go (the engine's `Persistence`, decision 0020); a session
 * with none is kept in memory only.
 */
export interface SessionSink {
  enqueued(s: Session, item: Pending): void;
  sent(s: Session, item: Pending): void;
  released(s: Session, item: Pending): void;
  done(s: Session, item: Pending): void;
  /** Subscriptions or inbound QoS 2 ids changed. */
  changed(s: Session): void;
}

/** A Map that reports every change (a session's subscriptions). */
class WatchedMap<K, V> extends Map<K, V> {
  constructor(private readonly onChange: () => void) {
    super();
  }
  override set(k: K, v: V): this {
    super.set(k, v);
    this.onChange();
    return this;
  }
  override delete(k: K): boolean {
    const had = super.delete(k);
    if (had) this.onChange();
    return had;
  }
  override clear(): void {
    const had = this.size > 0;
    super.clear();
    if (had) this.onChange();
  }
}

/** A Set that reports every change (a session's inbound QoS 2 packet ids). */
class WatchedSet<T> extends Set<T> {
  constructor(private readonly onChange: () => void) {
    super();
  }
  override add(v: T): this {
    const had = this.has(v);
    super.add(v);
    if (!had) this.onChange();
    return this;
  }
  override delete(v: T): boolean {
    const had = super.delete(v);
    if (had) this.onChange();
    return had;
  }
  override clear(): void {
    const had = this.size > 0;
    super.clear();
    if (had) this.onChange();
  }
}

/** Bump a named drop counter. */
export function countDrop(c: DeliveryCounters, reason: string, n = 1): void {
  c.dropped[reason] = (c.dropped[reason] ?? 0) + n;
}

/** One client's session. */
export class Session {
  link: SessionLink | null = null;
  /**
   * A connection that is taking this session up but is not live yet (its held subscriptions are
   * being authorized again): until then nothing is sent, QoS 1/2 messages wait in the queue.
   */
  attaching: SessionLink | null = null;
  /** Where changes are stored (decision 0020); null: memory only. */
  state: SessionSink | null = null;
  /** True while a head update waits in the writer's batch. */
  headQueued = false;
  /** The last stored queue position handed out. */
  seq = 0;
  /** Epoch ms at which the offline session ends; null while a connection holds it. */
  expiresAt: number | null = null;
  readonly subs: Map<string, Subscription<Session>> = new WatchedMap(() => this.changed());
  /** Outbound packet id → message awaiting PUBACK / PUBREC / PUBCOMP. */
  readonly inflight = new Map<number, Pending>();
  /** Inbound QoS 2 packet ids that got PUBREC and await PUBREL ([MQTT-4.3.3-…]). */
  readonly inboundQos2: Set<number> = new WatchedSet(() => this.changed());
  /** Publishers waiting for this session's queue to have room. */
  readonly waiters = new Set<() => void>();
  /** Session Expiry Interval in seconds (0: ends with the connection). */
  expiryInterval = 0;
  expiryTimer: NodeJS.Timeout | null = null;
  willTimer: NodeJS.Timeout | null = null;
  /** The will the timer above will publish. */
  pendingWill: { identity: ClientIdentity; msg: Message } | null = null;
  private queue: Pending[] = [];
  private head = 0;
  private queuedBytes = 0;
  private nextId = 1;

  constructor(
    readonly key: string,
    public clientId: string,
    public identity: ClientIdentity,
    private readonly limits: Readonly<MqttLimits>,
    private readonly counters: DeliveryCounters,
  ) {}

  private changed(): void {
    this.state?.changed(this);
  }

  /** Every QoS 1/2 message held (in flight, then queued). */
  pendingItems(): Pending[] {
    return [...this.inflight.values(), ...this.queue.slice(this.head)];
  }

  /** Put stored messages back (at start or take-up), in seq order: sent ones in flight. */
  restore(items: Pending[]): void {
    for (const it of items) {
      if (it.seq > this.seq) this.seq = it.seq;
      if (it.id > 0 && !this.inflight.has(it.id)) {
        this.inflight.set(it.id, it);
        this.nextId = it.id === 0xffff ? 1 : it.id + 1;
      } else {
        it.id = 0;
        this.queue.push(it);
        this.queuedBytes += it.msg.payload.length;
        this.counters.queued++;
      }
    }
  }

  /** Messages waiting (not yet in flight). */
  get queueLength(): number {
    return this.queue.length - this.head;
  }

  /** True when no more QoS 1/2 messages may be queued: publishers must wait or be refused. */
  isFull(): boolean {
    return (
      this.queueLength >= this.limits.maxQueuedMessages ||
      this.queuedBytes >= this.limits.maxQueuedBytes
    );
  }

  /** Deliver a routed message at the granted QoS. */
  deliver(msg: Message, qos: number, retain: boolean, subIds: number[] | null): void {
    const link = this.link;
    if (qos === 0) {
      if (link === null) return; // QoS 0 is not queued for offline sessions (MQTT 5 §4.1).
      if (link.isSlow()) {
        countDrop(this.counters, 'qos0_slow_subscriber');
        return;
      }
      const buf =
        subIds === null
          ? encodeQos0Cached(msg, link.v5, retain)
          : encodePublish(msg, link.v5, 0, 0, false, retain, subIds);
      if (buf.length > link.clientMaxPacket) {
        // [MQTT-3.1.2-25] Never send a packet larger than the client's Maximum Packet Size.
        countDrop(this.counters, 'packet_too_large');
        return;
      }
      link.write(buf);
      this.counters.messagesOut++;
      return;
    }
    const item: Pending = { msg, qos, retain, subIds, released: false, id: 0, seq: 0, st: 0 };
    // Stored before the publisher's acknowledgement (the engine waits for the batch).
    if (this.state !== null) this.state.enqueued(this, item);
    if (
      link !== null &&
      this.queueLength === 0 &&
      this.inflight.size < link.sendQuota &&
      !link.isSlow()
    ) {
      this.send(link, item);
      return;
    }
    // Queued beyond the limit only by messages admitted before the queue filled (one per
    // publisher at most); admission control in the engine keeps it bounded.
    this.queue.push(item);
    this.queuedBytes += msg.payload.length;
    this.counters.queued++;
  }

  /** Send queued messages while the client's Receive Maximum and the socket allow. */
  pump(): void {
    const link = this.link;
    if (link !== null) {
      while (this.head < this.queue.length && this.inflight.size < link.sendQuota) {
        if (link.isSlow()) break;
        const item = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as Pending;
        this.queuedBytes -= item.msg.payload.length;
        this.counters.queued--;
        this.send(link, item);
      }
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
    if (this.waiters.size > 0 && !this.isFull()) this.wake();
  }

  /** Let waiting publishers re-check. */
  wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  private send(link: SessionLink, item: Pending): void {
    if (item.msg.expiresAt > 0 && item.msg.expiresAt <= Date.now()) {
      // [MQTT-3.3.2-5] An expired message is not delivered.
      countDrop(this.counters, 'expired');
      this.state?.done(this, item);
      return;
    }
    const id = this.allocateId();
    const buf = encodePublish(item.msg, link.v5, item.qos, id, false, item.retain, item.subIds);
    if (buf.length > link.clientMaxPacket) {
      countDrop(this.counters, 'packet_too_large'); // [MQTT-3.1.2-25]
      this.state?.done(this, item);
      return;
    }
    item.id = id;
    this.inflight.set(id, item);
    this.state?.sent(this, item);
    link.write(buf);
    this.counters.messagesOut++;
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0xffff ? 1 : id + 1;
      // [MQTT-2.2.1-3] A packet identifier is not reused while its exchange is unfinished.
      if (!this.inflight.has(id)) return id;
    }
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) from the client ends an exchange. */
  complete(id: number): boolean {
    const item = this.inflight.get(id);
    if (item === undefined) return false;
    this.inflight.delete(id);
    this.state?.done(this, item);
    this.pump();
    return true;
  }

  /** PUBREC from the client: answer PUBREL ([MQTT-4.3.3-…]) unless it carried a failure code. */
  received(id: number, reason: number): boolean {
    const item = this.inflight.get(id);
    if (item === undefined || item.qos !== 2) return false;
    if (reason >= 0x80) {
      // MQTT 5 §4.3.3: a PUBREC with a failure reason ends the exchange.
      this.inflight.delete(id);
      this.state?.done(this, item);
      this.pump();
      return true;
    }
    item.released = true;
    this.state?.released(this, item);
    this.link?.write(encodeAck(0x62, id, 0, false));
    return true;
  }

  /**
   * On reconnect with a kept session: resend unacknowledged PUBLISH with DUP and PUBREL for
   * released ones, in their original order ([MQTT-4.4.0-1], [MQTT-4.6.0-1]), then the queue.
   */
  resume(): void {
    const link = this.link;
    if (link === null) return;
    for (const [id, item] of this.inflight) {
      if (item.released) link.write(encodeAck(0x62, id, 0, false));
      else {
        link.write(encodePublish(item.msg, link.v5, item.qos, id, true, item.retain, item.subIds));
      }
    }
    this.pump();
  }

  /**
   * Drop queued messages, and sent but unacknowledged ones (a released QoS 2 message was
   * delivered already and stays), whose topic `keep` refuses: a subscription that was taken away
   * delivers nothing more, not even what was waiting for it. Returns how many were dropped.
   */
  purge(keep: (topic: string) => boolean): number {
    let dropped = 0;
    const rest: Pending[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const item = this.queue[i]!;
      if (keep(item.msg.topic)) rest.push(item);
      else {
        dropped++;
        this.queuedBytes -= item.msg.payload.length;
        this.counters.queued--;
        this.state?.done(this, item);
      }
    }
    this.queue = rest;
    this.head = 0;
    for (const [id, item] of this.inflight) {
      if (!item.released && !keep(item.msg.topic)) {
        this.inflight.delete(id);
        this.state?.done(this, item);
        dropped++;
      }
    }
    if (dropped > 0) this.pump();
    return dropped;
  }

  /** Forget everything queued (session end); returns how many queued messages were discarded. */
  clear(): number {
    const n = this.queueLength + this.inflight.size;
    this.counters.queued -= this.queueLength;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.inflight.clear();
    this.inboundQos2.clear();
    this.wake();
    return n;
  }
}
