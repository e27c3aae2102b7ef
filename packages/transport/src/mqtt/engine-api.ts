/** The MQTT engine's public surface: its options, what it reports, and what it offers the hub. */
import type { Duplex } from 'node:stream';
import type { ClientIdentity, MqttHooks } from './hooks.js';
import type { MqttLimits } from './limits.js';
import type { MqttStateOptions } from './persistence.js';

export type { MqttStateOptions } from './persistence.js';

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

/** A denied publish or subscribe, reported per client. */
export interface MqttDenial {
  client: ClientIdentity;
  kind: 'publish' | 'subscribe';
  /** The topic, or the filter as the client sent it (with any `$share/{group}/`). */
  topic: string;
  reasonCode: number;
  /**
   * 'request': the client asked (PUBLISH, SUBSCRIBE, its will); 'resume': a held subscription
   * refused when its session was resumed; 'reauthorize': refused by `engine.reauthorize`.
   */
  cause: 'request' | 'resume' | 'reauthorize';
}

/** Options of createMqttEngine. */
export interface MqttEngineOptions {
  /** Security hooks; an engine without them refuses everything (DENY_ALL). */
  hooks?: MqttHooks;
  limits?: Partial<MqttLimits>;
  log?: MqttLogger;
  /** Called for every denied publish or subscribe (per-device counting lives with the caller). */
  onDenied?: (d: MqttDenial) => void;
  /**
   * Source addresses `maxConnectionsPerAddress` does not count. Default: loopback (127.0.0.0/8,
   * ::1), where the simulator, benchmarks and a local reverse proxy connect from.
   */
  addressLimitExempt?: (remoteAddress: string) => boolean;
  /**
   * Keep retained messages and persistent sessions in a store (decision 0020); call `restore()`
   * before serving. Without it they live in memory only.
   */
  state?: MqttStateOptions;
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
  /** Inbound PUBLISH packets held back by `maxMessagesPerSecond`. */
  throttled: number;
  /** Times a connection stopped reading because storage was behind (`hooks.backpressure`). */
  backpressured: number;
  /** Times a connection stopped reading because the engine held `inboundBudget` messages. */
  overBudget: number;
  /** PUBLISH packets read and not finished, across connections, now. */
  inboundHeld: number;
  dropped: Record<string, number>;
  denied: { connect: number; publish: number; subscribe: number };
  protocolErrors: Record<string, number>;
}

/** Options of `disconnectWhere`. */
export interface DisconnectOptions {
  /**
   * Also end the matching sessions (live and offline persistent ones): their subscriptions and
   * queued messages go, and nothing is kept to resume. Default false: a persistent session
   * outlives the cut connection, and a later resume authorizes its subscriptions again.
   */
  endSessions?: boolean;
}

/** The engine's public face. */
export interface MqttEngine {
  /** Serve one client connection over any Duplex (TCP, TLS, WebSocket, in-memory). */
  handle(stream: Duplex, meta: ConnectionMeta): void;
  /** Route a message from the hub to local subscribers (no hooks). */
  publish(msg: InjectedMessage): void;
  /**
   * Cut the live connection of the session keyed `sessionKey` (`ClientIdentity.id`, never a
   * client-chosen id); v5 gets DISCONNECT with the reason (mapped to one §3.14.2.1 allows).
   * False if that session has no connection here.
   */
  disconnect(sessionKey: string, reasonCode: number): boolean;
  /**
   * Cut every live connection whose identity matches `pred` (v5: DISCONNECT with the reason);
   * with `endSessions`, end the matching sessions too, offline ones included. Returns how many
   * connections were cut. For access changes: revocation, quarantine, decommissioning.
   */
  disconnectWhere(
    pred: (identity: ClientIdentity) => boolean,
    reasonCode: number,
    opts?: DisconnectOptions,
  ): number;
  /**
   * Ask `authorizeSubscribe` again (cause 'reauthorize') for every subscription of every session
   * whose identity matches `pred`, live and offline; drop the denied ones with the messages
   * waiting for them, so deliveries stop at once. Resolves with how many subscriptions were
   * dropped. A hook failure drops the subscription it was asked about (fail closed).
   */
  reauthorize(pred: (identity: ClientIdentity) => boolean): Promise<number>;
  /**
   * Deliver a message from the hub to the session keyed `sessionKey` only, when it is connected
   * here, through its own subscription matching the topic (QoS the lower of the message's and the
   * subscription's; the retain flag as given, nothing stored). False when that session is not
   * connected here or has no such (non-shared) subscription.
   */
  deliverTo(sessionKey: string, msg: InjectedMessage): boolean;
  stats(): MqttStats;
  /**
   * Load retained messages and this node's persistent sessions from the state store (once, before
   * serving). Sessions that ended while the hub was down are deleted.
   */
  restore(): Promise<{ retained: number; sessions: number; ended: number }>;
  /** Close every connection and stop timers (stored state is kept, and written out first). */
  close(): Promise<void>;
}
