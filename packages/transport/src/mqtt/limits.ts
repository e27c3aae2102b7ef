/**
 * Every bound the engine enforces. Each has a safe default, so an engine created without limits
 * (the hub, a gateway, a test) is bounded everywhere; the comment on each says why the default is
 * what it is. 0 means "off" only where a field says so. Decision record 0014 lists what the hub
 * should set from its configuration.
 */
export interface MqttLimits {
  /**
   * Largest packet we accept (and announce as v5 Maximum Packet Size). 1 MiB: telemetry and
   * commands, not files (firmware goes over HTTP). Bounds the memory one packet can pin.
   */
  maxPacketSize: number;
  /** Longest topic name or filter in bytes. 1 KiB is far beyond any real topic and keeps the trie cheap. */
  maxTopicLength: number;
  /** Most levels in a topic or filter; bounds matching recursion. 32 is well above the hub's 5–6. */
  maxTopicLevels: number;
  /** Subscriptions per session; bounds the trie per client. A device needs a handful. */
  maxSubscriptionsPerClient: number;
  /** Outbound QoS 1/2 messages in flight per client (capped further by the client's Receive Maximum). */
  maxInflight: number;
  /**
   * Our inbound Receive Maximum (v5): QoS 1/2 PUBLISH packets a client may have unacknowledged
   * (stored and acknowledged in order, decision record 0018), QoS 2 until PUBCOMP. 1,000 (was
   * 100, decision 0024): a connection's stored rate is at most this over the store's round trip,
   * and on a busy host that round trip (two thread hand-offs and a commit) is tens of ms — 100
   * capped a gateway's connection near 3,000 msg/s. What one connection may pin stays bounded by
   * `inboundWindowBytes`.
   */
  receiveMaximum: number;
  /**
   * PUBLISH packets (any QoS) one connection may have read and not finished — being authorized
   * or stored — before it is no longer read (decision record 0018). Bounds one connection's share
   * of the storage writer's queue; 1,000 (was 256, decision 0024) keeps a gateway's connection
   * above 10,000 stored msg/s with up to 100 ms of batch round trip. For v5 QoS 1/2,
   * `receiveMaximum` bounds it too.
   */
  inboundWindow: number;
  /**
   * Packet bytes the inbound window may hold (it stops reading once past it, so one packet of any
   * allowed size still fits): 4 MiB keeps 1,000 × 1 MiB from being pinned by one connection.
   */
  inboundWindowBytes: number;
  /**
   * PUBLISH packets read and not finished across **all** connections (0 = off). Past it, a
   * connection that reads one more stops reading until the engine is back under three quarters
   * of it: the rest waits in the kernel's socket buffers and then in the devices, not in the
   * heap. Each connection's window alone lets 1,000 devices × `receiveMaximum` messages be held
   * in memory at once; with the hub's main thread as the bottleneck they all survived young
   * collections and the collector took a third of the thread (issue 12 profiles). 4,000 keeps
   * several writer batches in flight and measured best of 0 / 4,000 / 20,000 (decision 0033,
   * amendment); a gateway's single connection is bounded by its own window.
   */
  inboundBudget: number;
  /**
   * QoS 1/2 messages queued per session (online but slow, or offline). When full, publishers
   * wait (backpressure), so an acknowledged message is never dropped for lack of room.
   */
  maxQueuedMessages: number;
  /**
   * Bytes of payload queued per session; the other half of the per-session memory bound (the
   * engine-wide bound is this times `maxSessions`, which is why both are finite).
   */
  maxQueuedBytes: number;
  /**
   * Sessions held at once, live and offline persistent ones (a new one beyond it: CONNACK 0x97 /
   * v3.1.1 3). 100,000 is above the simulator's and benchmarks' thousands and bounds the memory
   * clients can make the engine keep after they left.
   */
  maxSessions: number;
  /**
   * Concurrent connections from one source address; 0 = off, the default, because devices behind
   * a carrier-grade NAT or a TLS-terminating load balancer share one address and a default cap
   * would refuse a real fleet. The hub sets it from its configuration where it knows its network.
   * Loopback is exempt (`MqttEngineOptions.addressLimitExempt`) so the simulator and benchmarks,
   * which open thousands of connections from 127.0.0.1, keep working.
   */
  maxConnectionsPerAddress: number;
  /**
   * Inbound PUBLISH packets per second per connection (0 = unlimited). Above it the connection is
   * throttled — its socket is not read until the next second — not cut, so a bursty but honest
   * client slows down instead of falling into a reconnect loop. 20,000/s (was 1,000 until
   * decision record 0018): a gateway relaying a site's sensors over one connection must reach
   * 10,000 stored msg/s; what one connection can push into storage at once is bounded by
   * `inboundWindow`, its rate by this.
   */
  maxMessagesPerSecond: number;
  /** Socket bytes buffered for a subscriber before QoS 0 to it is dropped and QoS 1/2 stays queued. */
  socketHighWaterMark: number;
  /** How long a publisher may be held waiting for queue space before its message is refused. */
  backpressureTimeoutMs: number;
  /** Time allowed between the TCP connection and CONNECT; bounds idle unauthenticated sockets. */
  connectTimeoutMs: number;
  /**
   * Longest keep-alive we accept, in seconds; a longer one, or 0 ("never"), gets this (v5: as
   * Server Keep Alive [MQTT-3.2.2-21]). One hour: a half-open connection (the device lost power
   * or its NAT mapping) is noticed within 1.5 h instead of holding its session forever; devices
   * ping every 30–300 s anyway. 0 = accept any, including none.
   */
  maxKeepAlive: number;
  /** Longest session expiry a client may ask for, in seconds (a v3.1.1 persistent session gets this). */
  maxSessionExpiry: number;
  /** Topic aliases a v5 client may define towards us. */
  topicAliasMaximum: number;
  /** Retained messages held; beyond it new retained topics are not stored (counted). */
  maxRetained: number;
  /**
   * Bytes of retained payloads held; the count alone would let 100,000 × 1 MiB pile up. 64 MiB
   * holds every device's last state many times over; beyond it new retained messages are not
   * stored (counted as `retained_store_full`).
   */
  maxRetainedBytes: number;
  /** Entries in the topic → subscribers cache. */
  matchCacheSize: number;
}

/** Defaults (see each field for why). */
export const DEFAULT_LIMITS: Readonly<MqttLimits> = Object.freeze({
  maxPacketSize: 1024 * 1024,
  maxTopicLength: 1024,
  maxTopicLevels: 32,
  maxSubscriptionsPerClient: 100,
  maxInflight: 1000,
  receiveMaximum: 1000,
  inboundWindow: 1000,
  inboundWindowBytes: 4 * 1024 * 1024,
  inboundBudget: 4_000,
  maxQueuedMessages: 10_000,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxSessions: 100_000,
  maxConnectionsPerAddress: 0,
  maxMessagesPerSecond: 20_000,
  socketHighWaterMark: 1024 * 1024,
  backpressureTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxKeepAlive: 3600,
  maxSessionExpiry: 7 * 24 * 3600,
  topicAliasMaximum: 10,
  maxRetained: 100_000,
  maxRetainedBytes: 64 * 1024 * 1024,
  matchCacheSize: 10_000,
});

/** Limits where 0 would not mean "off" but "nothing at all": refused as a configuration error. */
const POSITIVE: ReadonlyArray<keyof MqttLimits> = [
  'maxPacketSize',
  'maxTopicLength',
  'maxTopicLevels',
  'maxInflight',
  'receiveMaximum',
  'inboundWindow',
  'inboundWindowBytes',
  'maxSessions',
  'connectTimeoutMs',
];

/** Merge partial limits over the defaults and freeze them. */
export function resolveLimits(partial: Partial<MqttLimits> = {}): Readonly<MqttLimits> {
  const out: MqttLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial)) {
    if (!(k in DEFAULT_LIMITS)) throw new Error(`unknown MQTT limit: ${k}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new Error(`MQTT limit ${k} must be a non-negative number`);
    }
    if (v === 0 && POSITIVE.includes(k as keyof MqttLimits)) {
      throw new Error(`MQTT limit ${k} must be positive`);
    }
    (out as unknown as Record<string, number>)[k] = v;
  }
  return Object.freeze(out);
}
