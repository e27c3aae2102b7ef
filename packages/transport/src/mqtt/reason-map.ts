/**
 * Which reason codes each MQTT 5 packet may carry, and the one mapping per packet type from any
 * reason (a hook's answer, a Bulwark error's code, an engine limit) to a code that packet allows.
 *
 * Why: MQTT 5 gives every packet type its own list of reason codes, and real clients enforce them.
 * MQTT.js (mqtt-packet) closes the connection on a PUBACK/PUBREC code outside §3.4.2.1, and
 * paho-mqtt's network thread dies on an AssertionError (the application hangs). A PUBACK 0x95
 * "Packet too large" did both. The packet encoders (`codec/packets.ts`) pass every code through
 * these functions, so no code path can send a disallowed one.
 *
 * The substitutions keep the meaning as close as the packet allows; the engine adds a Reason
 * String naming the original reason when it had to substitute and the caller gave none
 * (`reasonName`). Decision record 0014 explains the choices.
 */
import { RC } from './reason-codes.js';

/** A packet type that carries a reason code. */
export type ReasonPacket =
  'connack' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'suback' | 'unsuback' | 'disconnect';

const set = (...codes: number[]): ReadonlySet<number> => new Set(codes);

/** MQTT 5 §3.2.2.2 (CONNACK). */
// prettier-ignore
const CONNACK = set(
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
  0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
);
/** MQTT 5 §3.4.2.1 (PUBACK) and §3.5.2.1 (PUBREC): the same list. */
const PUBACK = set(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99);
/** MQTT 5 §3.6.2.1 (PUBREL) and §3.7.2.1 (PUBCOMP). */
const PUBREL = set(0x00, 0x92);
/** MQTT 5 §3.9.3 (SUBACK): a granted QoS or a failure. */
// prettier-ignore
const SUBACK = set(0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2);
/** MQTT 5 §3.11.3 (UNSUBACK). */
const UNSUBACK = set(0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91);
/**
 * MQTT 5 §3.14.2.1 (DISCONNECT) as a server may send it: 0x04 Disconnect with Will Message is the
 * client's only, so it is left out here.
 */
// prettier-ignore
const DISCONNECT = set(
  0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96,
  0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
);

/** The codes each packet type allows (what the unit tests check every mapping against). */
export const ALLOWED_REASONS: Readonly<Record<ReasonPacket, ReadonlySet<number>>> = {
  connack: CONNACK,
  puback: PUBACK,
  pubrec: PUBACK,
  pubrel: PUBREL,
  pubcomp: PUBREL,
  suback: SUBACK,
  unsuback: UNSUBACK,
  disconnect: DISCONNECT,
};

// Substitutions for codes a packet does not allow, grouped by what the reason means.
// Anything not listed (and any non-failure code a packet does not allow) becomes 0x80.

/** A refused message or subscription (PUBACK, PUBREC, SUBACK): what each reason becomes. */
const REFUSED: ReadonlyArray<[number, number]> = [
  // Credentials or rights: 0x87 Not authorized.
  [RC.BAD_USERNAME_OR_PASSWORD, RC.NOT_AUTHORIZED],
  [RC.BANNED, RC.NOT_AUTHORIZED],
  [RC.BAD_AUTH_METHOD, RC.NOT_AUTHORIZED],
  [RC.ADMINISTRATIVE_ACTION, RC.NOT_AUTHORIZED],
  // A limit the client may meet again later (a rate, a connection rate): 0x97 Quota exceeded.
  [RC.MESSAGE_RATE_TOO_HIGH, RC.QUOTA_EXCEEDED],
  [RC.CONNECTION_RATE_EXCEEDED, RC.QUOTA_EXCEEDED],
  // A message this server will never take as it is (too large, a feature it does not offer):
  // 0x83 Implementation specific error, "valid, but the receiver is not willing to accept it".
  [RC.PACKET_TOO_LARGE, RC.IMPLEMENTATION_SPECIFIC],
  [RC.RETAIN_NOT_SUPPORTED, RC.IMPLEMENTATION_SPECIFIC],
  [RC.QOS_NOT_SUPPORTED, RC.IMPLEMENTATION_SPECIFIC],
];

/** PUBACK / PUBREC: the message is refused; say why as closely as §3.4.2.1 lets us. */
const PUBACK_SUBST: ReadonlyMap<number, number> = new Map([
  ...REFUSED,
  // The topic: 0x90 Topic Name invalid.
  [RC.TOPIC_FILTER_INVALID, RC.TOPIC_NAME_INVALID],
  [RC.TOPIC_ALIAS_INVALID, RC.TOPIC_NAME_INVALID],
  // Server unavailable / busy / shutting down have no PUBACK code: 0x80 Unspecified error.
]);

/** SUBACK: the subscription is refused. */
const SUBACK_SUBST: ReadonlyMap<number, number> = new Map([
  ...REFUSED,
  [RC.TOPIC_NAME_INVALID, RC.TOPIC_FILTER_INVALID],
]);

/** UNSUBACK: the unsubscribe is refused. */
const UNSUBACK_SUBST: ReadonlyMap<number, number> = new Map([
  [RC.BAD_USERNAME_OR_PASSWORD, RC.NOT_AUTHORIZED],
  [RC.BANNED, RC.NOT_AUTHORIZED],
  [RC.ADMINISTRATIVE_ACTION, RC.NOT_AUTHORIZED],
  [RC.TOPIC_NAME_INVALID, RC.TOPIC_FILTER_INVALID],
  [RC.QUOTA_EXCEEDED, RC.IMPLEMENTATION_SPECIFIC],
]);

/** CONNACK: the connection is refused. */
const CONNACK_SUBST: ReadonlyMap<number, number> = new Map([
  // Cut by an operator or a policy: 0x87 Not authorized (a banned client gets 0x8A from the hook).
  [RC.ADMINISTRATIVE_ACTION, RC.NOT_AUTHORIZED],
  // Going away or not ready: 0x88 Server unavailable.
  [RC.SERVER_SHUTTING_DOWN, RC.SERVER_UNAVAILABLE],
  [0xa0, RC.SERVER_UNAVAILABLE], // Maximum connect time
  [RC.MESSAGE_RATE_TOO_HIGH, RC.QUOTA_EXCEEDED],
  [RC.TOPIC_FILTER_INVALID, RC.TOPIC_NAME_INVALID],
  [RC.TOPIC_ALIAS_INVALID, RC.PROTOCOL_ERROR],
  [RC.RECEIVE_MAXIMUM_EXCEEDED, RC.PROTOCOL_ERROR],
  [RC.PACKET_ID_IN_USE, RC.PROTOCOL_ERROR],
  [RC.PACKET_ID_NOT_FOUND, RC.PROTOCOL_ERROR],
  [RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED, RC.IMPLEMENTATION_SPECIFIC],
  [RC.SUBSCRIPTION_IDS_NOT_SUPPORTED, RC.IMPLEMENTATION_SPECIFIC],
  [RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED, RC.IMPLEMENTATION_SPECIFIC],
]);

/** DISCONNECT: the server ends a live connection. */
const DISCONNECT_SUBST: ReadonlyMap<number, number> = new Map([
  // A credential or right that no longer holds (revoked key, quarantined device): 0x87.
  [RC.BAD_USERNAME_OR_PASSWORD, RC.NOT_AUTHORIZED],
  [RC.BANNED, RC.NOT_AUTHORIZED],
  [RC.BAD_AUTH_METHOD, RC.NOT_AUTHORIZED],
  // Not ready: 0x89 Server busy is the nearest a DISCONNECT can say.
  [RC.SERVER_UNAVAILABLE, RC.SERVER_BUSY],
  [RC.UNSUPPORTED_PROTOCOL_VERSION, RC.PROTOCOL_ERROR],
  [RC.CLIENT_ID_NOT_VALID, RC.PROTOCOL_ERROR],
  [RC.PACKET_ID_IN_USE, RC.PROTOCOL_ERROR],
  [RC.PACKET_ID_NOT_FOUND, RC.PROTOCOL_ERROR],
]);

function pick(allowed: ReadonlySet<number>, subst: ReadonlyMap<number, number>, code: number) {
  if (allowed.has(code)) return code;
  return subst.get(code) ?? RC.UNSPECIFIED;
}

/** A refusal code for CONNACK (MQTT 5 §3.2.2.2); 0x00 stays Success. */
export function connackReason(code: number): number {
  return pick(CONNACK, CONNACK_SUBST, code);
}

/** A code for PUBACK or PUBREC (MQTT 5 §3.4.2.1, §3.5.2.1): e.g. 0x95 → 0x83, 0x96 → 0x97. */
export function pubackReason(code: number): number {
  return pick(PUBACK, PUBACK_SUBST, code);
}

/** A code for PUBREL or PUBCOMP (MQTT 5 §3.6.2.1, §3.7.2.1): Success or 0x92, else 0x92. */
export function pubrelReason(code: number): number {
  return PUBREL.has(code) ? code : RC.PACKET_ID_NOT_FOUND;
}

/** A granted QoS or refusal for SUBACK (MQTT 5 §3.9.3). */
export function subackReason(code: number): number {
  return pick(SUBACK, SUBACK_SUBST, code);
}

/** A code for UNSUBACK (MQTT 5 §3.11.3). */
export function unsubackReason(code: number): number {
  return pick(UNSUBACK, UNSUBACK_SUBST, code);
}

/** A code for a server-sent DISCONNECT (MQTT 5 §3.14.2.1): e.g. 0x86 → 0x87, 0x88 → 0x89. */
export function disconnectReason(code: number): number {
  return pick(DISCONNECT, DISCONNECT_SUBST, code);
}

/** The one mapping per packet type, by name. */
export function reasonFor(packet: ReasonPacket, code: number): number {
  switch (packet) {
    case 'connack':
      return connackReason(code);
    case 'puback':
    case 'pubrec':
      return pubackReason(code);
    case 'pubrel':
    case 'pubcomp':
      return pubrelReason(code);
    case 'suback':
      return subackReason(code);
    case 'unsuback':
      return unsubackReason(code);
    case 'disconnect':
      return disconnectReason(code);
  }
}

/** MQTT 5 §2.4 names, for the Reason String when a code had to be substituted. */
const NAMES: Readonly<Record<number, string>> = {
  0x80: 'Unspecified error',
  0x81: 'Malformed Packet',
  0x82: 'Protocol Error',
  0x83: 'Implementation specific error',
  0x84: 'Unsupported Protocol Version',
  0x85: 'Client Identifier not valid',
  0x86: 'Bad User Name or Password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8b: 'Server shutting down',
  0x8c: 'Bad authentication method',
  0x8d: 'Keep Alive timeout',
  0x8e: 'Session taken over',
  0x8f: 'Topic Filter invalid',
  0x90: 'Topic Name invalid',
  0x91: 'Packet Identifier in use',
  0x92: 'Packet Identifier not found',
  0x93: 'Receive Maximum exceeded',
  0x94: 'Topic Alias invalid',
  0x95: 'Packet too large',
  0x96: 'Message rate too high',
  0x97: 'Quota exceeded',
  0x98: 'Administrative action',
  0x99: 'Payload format invalid',
  0x9a: 'Retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'Use another server',
  0x9d: 'Server moved',
  0x9e: 'Shared Subscriptions not supported',
  0x9f: 'Connection rate exceeded',
  0xa0: 'Maximum connect time',
  0xa1: 'Subscription Identifiers not supported',
  0xa2: 'Wildcard Subscriptions not supported',
};

/** The MQTT 5 name of a reason code (e.g. 0x95 → "Packet too large"), or its hex value. */
export function reasonName(code: number): string {
  return NAMES[code] ?? `reason 0x${code.toString(16).padStart(2, '0')}`;
}
