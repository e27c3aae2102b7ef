/**
 * The MQTT engine's security and integration hooks. Every decision is a named hook that DENIES
 * unless it allows (Aedes' hook set with its allow-all defaults inverted): an engine created
 * without hooks refuses every connection. Hooks may answer synchronously (the fast path) or with
 * a promise.
 */

/** What the engine knows about a connecting client. */
export interface ConnectInfo {
  /**
   * The client identifier as the client sent it; '' when it sent none (the hook may then assign
   * one, see `ClientIdentity.clientId`). Client-chosen: never an identity on its own.
   */
  clientId: string;
  protocolVersion: 3 | 4 | 5;
  /** Clean Start (v5) / Clean Session (v3.1.1). */
  clean: boolean;
  username?: string;
  password?: Uint8Array;
  /** The verified-by-TLS client certificate, when the transport is TLS and one was presented. */
  certificate?: { der: Uint8Array; subjectO?: string };
  remoteAddress: string;
  /** Which listener: 'tls' | 'tcp' | 'ws' (open mode runs on 'tcp'). */
  listener: string;
}

/** A connected client as the hooks identify it; `principal` is opaque to the engine. */
export interface ClientIdentity {
  /**
   * The session key: the authenticated principal (e.g. org + device, or org + API key + client
   * id), never the client-chosen identifier alone. The engine keys, resumes and takes over
   * sessions by this and nothing else, and `disconnect` / `deliverTo` address it. Not empty.
   */
  id: string;
  /**
   * The client identifier to use when the client sent an empty one (e.g. a device's own id):
   * v5 gets it as the Assigned Client Identifier ([MQTT-3.2.2-16]); a v3.1.1 client with Clean
   * Session 0 is accepted with it instead of being refused ([MQTT-3.1.3-8]). Ignored when the
   * client sent an identifier.
   */
  clientId?: string;
  principal: unknown;
}

/** Why authorizeSubscribe is asked. */
export interface SubscribeContext {
  /**
   * The share name of a shared subscription (`$share/{group}/{filter}`, MQTT 5 §4.8.2): the hook
   * is given the filter inside the share, so one ACL decides for shared and plain alike.
   */
  group: string | null;
  /**
   * 'subscribe': a SUBSCRIBE packet; 'resume': a held subscription of a session resumed with
   * Clean Start 0 (checked again before anything is delivered); 'reauthorize': an access change
   * (`engine.reauthorize`).
   */
  cause: 'subscribe' | 'resume' | 'reauthorize';
}

/** MQTT 5 reason codes the hooks may answer with (v3.1.1 mapping is the engine's job). */
export type ConnectRefusal =
  | 0x86 // Bad User Name or Password
  | 0x87 // Not authorized
  | 0x8a // Banned
  | 0x85 // Client Identifier not valid
  | 0x88 // Server unavailable
  | 0x97 // Quota exceeded
  | 0x9f; // Connection rate exceeded

export type Maybe<T> = T | Promise<T>;

/** A message a client publishes, as the hooks see it. */
export interface InboundPublish {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** MQTT 5 content type property, when given. */
  contentType?: string;
  /** This is the client's will, published by the server after the connection was lost. */
  will?: boolean;
}

/** A subscription the engine granted (after SUBACK). */
export interface GrantedSubscription {
  filter: string;
  qos: 0 | 1 | 2;
}

export interface MqttHooks {
  /** Identify a client or refuse it with a reason code. */
  authenticate(info: ConnectInfo): Maybe<ClientIdentity | { refuse: ConnectRefusal }>;
  /** May this client publish to this topic? (0 = allow, else an MQTT 5 reason code, e.g. 0x87.) */
  authorizePublish(client: ClientIdentity, topic: string, qos: 0 | 1 | 2): Maybe<number>;
  /**
   * May this client subscribe with this filter? (granted QoS 0–2, or a reason code ≥ 0x80.) For a
   * shared subscription `filter` is the topic filter inside `$share/{group}/` and `ctx.group`
   * names the group. Asked again for every held subscription when a session is resumed and on
   * `engine.reauthorize`: an answer is never kept beyond the next access change.
   */
  authorizeSubscribe(
    client: ClientIdentity,
    filter: string,
    qos: 0 | 1 | 2,
    ctx: SubscribeContext,
  ): Maybe<number>;
  /**
   * Called for every authorized publish before it is routed; for QoS 1/2 the engine sends PUBACK /
   * PUBREC only after this resolves (that is where durability lives). Rejecting it refuses the
   * message with the error's reason code (e.g. 0x99 Payload format invalid, 0x97 Quota exceeded).
   * Returning `false` means "accepted, but do not route it locally" (the hub routes it itself).
   * Called in the order the client sent its messages, but without waiting for the previous call
   * to settle (pipelining, decision record 0018): a hook whose messages change state in turn must
   * order them itself.
   */
  onPublish?(client: ClientIdentity, msg: InboundPublish): Maybe<void | false>;
  /**
   * Backpressure from downstream (e.g. the storage writer's queue), asked after each PUBLISH is
   * handed to `onPublish`: undefined to go on reading; a promise to stop reading this connection
   * until it settles (the publisher is slowed by TCP, not refused). Must be cheap: it is asked
   * once per message. A connection waiting on it is not cut for keep-alive.
   */
  backpressure?(): Promise<void> | undefined;
  /** A client connected / disconnected (presence). */
  onConnect?(client: ClientIdentity): void;
  /** `clean`: the client sent DISCONNECT (and did not ask for its will): it said goodbye. */
  onDisconnect?(client: ClientIdentity, reason: string, info: { clean: boolean }): void;
  /**
   * A SUBSCRIBE was granted: called after the SUBACK and the retained messages were sent, so a
   * message the hook delivers now reaches the new subscription (e.g. a device's pending commands).
   * Also called after CONNACK with the subscriptions a resumed session still holds once they were
   * authorized again. Plain (non-shared) subscriptions only: `deliverTo` never uses a shared one.
   */
  onSubscribed?(client: ClientIdentity, subscriptions: readonly GrantedSubscription[]): void;
}

/** An error a hook throws to refuse something with a specific MQTT 5 reason code. */
export class MqttRefusal extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Hooks that deny everything: what an engine has until the hub installs its own. */
export const DENY_ALL: MqttHooks = {
  authenticate: () => ({ refuse: 0x87 }),
  authorizePublish: () => 0x87,
  authorizeSubscribe: () => 0x87,
};
