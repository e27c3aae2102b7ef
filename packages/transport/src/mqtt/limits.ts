/** Every bound the engine enforces; each default says why it is what it is. */
export interface MqttLimits {
  /** Largest packet we accept (and announce as v5 Maximum Packet Size). 1 MiB: telemetry and commands, not files. */
  maxPacketSize: number;
  /** Longest topic name or filter in bytes. 1 KiB is far beyond any real topic and keeps the trie cheap. */
  maxTopicLength: number;
  /** Most levels in a topic or filter; bounds matching recursion. */
  maxTopicLevels: number;
  /** Subscriptions per session; bounds the trie per client. */
  maxSubscriptionsPerClient: number;
  /** Outbound QoS 1/2 messages in flight per client (capped further by the client's Receive Maximum). */
  maxInflight: number;
  /** Our inbound Receive Maximum (v5): unacknowledged QoS 2 PUBRECs a client may hold open. */
  receiveMaximum: number;
  /** QoS 1/2 messages queued per session (online but slow, or offline). When full, publishers wait. */
  maxQueuedMessages: number;
  /** Bytes of payload queued per session; the other half of the memory bound. */
  maxQueuedBytes: number;
  /** Concurrent connections from one source address (0 = unlimited). */
  maxConnectionsPerAddress: number;
  /** Inbound PUBLISH packets per second per client (0 = unlimited); above it v5 gets 0x96, v3 a close. */
  maxMessagesPerSecond: number;
  /** Socket bytes buffered for a subscriber before QoS 0 to it is dropped and QoS 1/2 stays queued. */
  socketHighWaterMark: number;
  /** How long a publisher may be held waiting for queue space before its message is refused. */
  backpressureTimeoutMs: number;
  /** Time allowed between the TCP connection and CONNECT. */
  connectTimeoutMs: number;
  /** Longest keep-alive we accept; longer requests get v5 Server Keep Alive (0 = accept any). */
  maxKeepAlive: number;
  /** Longest session expiry a client may ask for, in seconds (a v3.1.1 persistent session gets this). */
  maxSessionExpiry: number;
  /** Topic aliases a v5 client may define towards us. */
  topicAliasMaximum: number;
  /** Retained messages held; beyond it new retained topics are not stored (counted). */
  maxRetained: number;
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
  receiveMaximum: 100,
  maxQueuedMessages: 10_000,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxConnectionsPerAddress: 0,
  maxMessagesPerSecond: 0,
  socketHighWaterMark: 1024 * 1024,
  backpressureTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxKeepAlive: 0,
  maxSessionExpiry: 7 * 24 * 3600,
  topicAliasMaximum: 10,
  maxRetained: 100_000,
  matchCacheSize: 10_000,
});

/** Merge partial limits over the defaults and freeze them. */
export function resolveLimits(partial: Partial<MqttLimits> = {}): Readonly<MqttLimits> {
  const out: MqttLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial)) {
    if (!(k in DEFAULT_LIMITS)) throw new Error(`unknown MQTT limit: ${k}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new Error(`MQTT limit ${k} must be a non-negative number`);
    }
    (out as unknown as Record<string, number>)[k] = v;
  }
  return Object.freeze(out);
}
