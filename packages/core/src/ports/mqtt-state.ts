/**
 * The MQTT engine's durable state (decision 0020): retained messages and persistent sessions
 * (subscriptions, queued and in-flight QoS 1/2 messages, inbound QoS 2 packet ids awaiting
 * PUBREL). The engine keeps all of it in memory as its fast path and writes through to this port
 * in ordered batches; on start it loads it back.
 *
 * Ownership: every session row names the hub node that holds it (`owner`). Writes to a session
 * (`update`, `end`, queue operations) apply only where the caller owns it, so a node whose session
 * was taken up by another node can no longer change it; `apply` reports those keys and the node
 * drops its stale copy. Retained messages belong to nobody: every node reads and writes them.
 */

/** A retained message as stored (one per topic). */
export interface MqttRetainedRecord {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  /** The MQTT 5 properties that travel with it, as the engine encodes them (opaque text), or null. */
  props: string | null;
  /** Epoch ms after which it must not be delivered (MQTT 5 Message Expiry); 0 = never. */
  expiresAt: number;
}

/** One subscription a session holds, as the client sent it. */
export interface MqttSubscriptionRecord {
  /** The filter as the client sent it (including any `$share/{group}/`). */
  filter: string;
  qos: 0 | 1 | 2;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  /** MQTT 5 Subscription Identifier; 0 = none. */
  subId: number;
}

/** A persistent session's head: who holds it, until when, and what it is subscribed to. */
export interface MqttSessionRecord {
  /** The session key: the authenticated principal (never a client-chosen id alone). */
  key: string;
  clientId: string;
  /** The principal the session belongs to, as the engine encodes it (opaque text). */
  identity: string;
  /** Session Expiry Interval, seconds (> 0: only persistent sessions are stored). */
  expiryInterval: number;
  /**
   * Epoch ms at which the offline session ends; null while a connection holds it (after a crash
   * such a session ends `expiryInterval` seconds after the hub starts again).
   */
  expiresAt: number | null;
  subscriptions: MqttSubscriptionRecord[];
  /** Inbound QoS 2 packet ids that got PUBREC and await PUBREL ([MQTT-4.3.3-…]). */
  inboundQos2: number[];
}

/** A QoS 1/2 message queued for, or in flight to, one session. */
export interface MqttQueuedRecord {
  /** Order within the session (strictly increasing as the engine queues). */
  seq: number;
  topic: string;
  payload: Uint8Array;
  /** The QoS it is delivered at (the lower of the published and the granted). */
  qos: 1 | 2;
  retain: boolean;
  props: string | null;
  expiresAt: number;
  subIds: number[] | null;
  /** The packet id it was sent with (in flight), or null while only queued. */
  packetId: number | null;
  /** QoS 2: PUBREC came and PUBREL was sent. */
  released: boolean;
}

/** One change, applied in order within a batch. */
export type MqttStateOp =
  | { op: 'retain'; record: MqttRetainedRecord }
  | { op: 'unretain'; topic: string }
  /** A fresh session: replaces any stored one with this key (its queue goes); owner := node. */
  | { op: 'create'; session: MqttSessionRecord }
  /** Rewrite an owned session's head. */
  | { op: 'update'; session: MqttSessionRecord }
  /** Delete an owned session and its queue. */
  | { op: 'end'; key: string }
  | { op: 'enqueue'; key: string; item: MqttQueuedRecord }
  | { op: 'sent'; key: string; seq: number; packetId: number }
  | { op: 'released'; key: string; seq: number }
  | { op: 'done'; key: string; seq: number };

/** What a batch left undone. */
export interface MqttApplyResult {
  /** Keys of sessions another node owns (or nobody stores): their operations were skipped. */
  notOwned: string[];
}

/** A session with its queue, in `seq` order. */
export interface MqttStoredSession {
  session: MqttSessionRecord;
  queue: MqttQueuedRecord[];
}

/** The MQTT state port. */
export interface MqttStateStore {
  /** Applies `ops` in order, in one transaction (all or none), as `node`. */
  apply(node: string, ops: readonly MqttStateOp[]): Promise<MqttApplyResult>;
  /** Retained messages whose topic starts with `prefix` ('' for all), expired ones included. */
  retained(prefix: string): Promise<MqttRetainedRecord[]>;
  /**
   * Deletes sessions that ended (expiresAt <= now) with their queues, then loads the sessions
   * `node` owns with their queues; with `adopt`, first makes `node` the owner of every stored
   * session (a single hub taking up what its previous process held). Returns how many ended.
   */
  load(
    node: string,
    now: number,
    adopt: boolean,
  ): Promise<{ ended: number; sessions: MqttStoredSession[] }>;
  /**
   * Makes `node` the owner of session `key` and returns it with its queue, or undefined when none
   * is stored or it ended (expiresAt <= now: it is deleted). `previousOwner` says who held it.
   */
  take(
    key: string,
    node: string,
    now: number,
  ): Promise<(MqttStoredSession & { previousOwner: string }) | undefined>;
  /** Deletes sessions that ended (expiresAt <= now) with their queues; returns how many. */
  expire(now: number): Promise<number>;
}
