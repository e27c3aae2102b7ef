import { BulwarkError } from '@bulwark/protocol';
import { reasonFor, type ReasonPacket } from '../mqtt/reason-map.js';

/**
 * The one place a Bulwark error becomes an MQTT 5 reason code (MQTT 5 §2.4): the kind decides,
 * with a few codes that have a more precise MQTT meaning; then the packet type's own list decides
 * what may be sent (`mqtt/reason-map.ts`). Most errors reach a client in a PUBACK/PUBREC (a
 * refused message), hence the default; a refused connection asks for 'connack', a cut one for
 * 'disconnect'.
 *
 * In a PUBACK: payload_too_large → 0x83 Implementation specific error (§3.4.2.1 has no "too
 * large"; the error's detail, e.g. "the payload has 2000 bytes; the limit is 1024", travels as the
 * Reason String); rate_limited / quota_exceeded → 0x97 Quota exceeded; unavailable → 0x80
 * Unspecified error; senml_invalid / invalid → 0x99 Payload format invalid; forbidden /
 * unauthenticated → 0x87 Not authorized (decision record 0014).
 */
export function mqttReasonCode(err: unknown, packet: ReasonPacket = 'puback'): number {
  return reasonFor(packet, idealReason(err));
}

/** The MQTT 5 code that says it best, before the packet type's list is applied. */
function idealReason(err: unknown): number {
  if (!(err instanceof BulwarkError)) return 0x80; // Unspecified error
  switch (err.code) {
    case 'payload_too_large':
      return 0x95; // Packet too large
    case 'senml_invalid':
      return 0x99; // Payload format invalid
    case 'quota_exceeded':
      return 0x97; // Quota exceeded
    case 'topic_invalid':
      return 0x90; // Topic Name invalid
  }
  switch (err.kind) {
    case 'forbidden':
    case 'unauthenticated':
      return 0x87; // Not authorized
    case 'rate_limited':
      return 0x96; // Message rate too high
    case 'unavailable':
      return 0x88; // Server unavailable
    case 'too_large':
      return 0x95;
    case 'invalid':
      return 0x99;
    default:
      return 0x80;
  }
}
