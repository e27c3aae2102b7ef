import { BulwarkError } from '@bulwark/protocol';

/**
 * The one place a Bulwark error becomes an MQTT 5 reason code (MQTT 5 §2.4): the kind decides,
 * with a few codes that have a more precise MQTT meaning.
 */
export function mqttReasonCode(err: unknown): number {
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
