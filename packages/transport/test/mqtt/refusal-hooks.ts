/**
 * Test hooks that refuse messages the way the hub does: open mode, plus an onPublish that throws
 * the Bulwark error a hub service would throw, turned into a reason code by the hub's one mapping
 * (`mqttReasonCode`). The payload's first word picks the refusal, so one client on one topic can
 * meet every kind of refusal and then publish successfully, on the same connection.
 */
import { BulwarkError } from '@bulwark/protocol';
import { mqttReasonCode } from '../../src/messaging/reason-codes.js';
import { MqttRefusal, openModeHooks, type MqttHooks } from '../../src/mqtt/index.js';

/** The hub's payload limit in these tests. */
export const PAYLOAD_LIMIT = 64;

/** Topic every refusal case is published to. */
export const REFUSE_TOPIC = 'interop/refuse';

/** One refusal case: the payload that triggers it and the PUBACK/PUBREC code a client must get. */
export interface RefusalCase {
  name: string;
  payload: string;
  /** The code MQTT 5 §3.4.2.1 allows that the engine must send. */
  code: number;
  /** A part of the Reason String. */
  reason: string;
}

/** Oversize payload, quota, not authorized, payload format, rate, unavailable. */
export const REFUSALS: readonly RefusalCase[] = [
  {
    name: 'oversize payload',
    payload: `too-large ${'x'.repeat(PAYLOAD_LIMIT)}`,
    code: 0x83, // Implementation specific error (0x95 is not a PUBACK code)
    reason: `the limit is ${PAYLOAD_LIMIT}`,
  },
  { name: 'quota exceeded', payload: 'quota', code: 0x97, reason: 'quota' },
  { name: 'not authorized', payload: 'forbidden', code: 0x87, reason: 'may not publish' },
  { name: 'payload format invalid', payload: 'format', code: 0x99, reason: 'SenML' },
  { name: 'message rate', payload: 'rate', code: 0x97, reason: 'rate' }, // 0x96 is not a PUBACK code
  { name: 'server unavailable', payload: 'unavailable', code: 0x80, reason: 'not ready' }, // nor is 0x88
];

/** The error a hub service throws for a payload (none: accepted). */
function refusalFor(payload: string): Error | null {
  const word = payload.split(' ', 1)[0];
  switch (word) {
    case 'too-large':
      return payload.length > PAYLOAD_LIMIT
        ? new BulwarkError(
            'payload_too_large',
            `the payload has ${payload.length} bytes; the limit is ${PAYLOAD_LIMIT}`,
          )
        : null;
    case 'quota':
      return new BulwarkError('quota_exceeded', 'quota of 10 messages a minute reached');
    case 'forbidden':
      return new BulwarkError('not_authorized', 'the client may not publish to this channel');
    case 'format':
      return new BulwarkError('senml_invalid', 'SenML record 0 has no name');
    case 'rate':
      // A hook answering with a raw MQTT 5 code the packet does not allow (0x96).
      return new MqttRefusal(0x96, 'message rate above 5/s');
    case 'unavailable':
      return new BulwarkError('unavailable', 'storage is not ready');
    default:
      return null;
  }
}

/** Open-mode hooks whose onPublish refuses as the payload says. */
export function refusalHooks(): MqttHooks {
  return {
    ...openModeHooks(),
    onPublish(_client, msg) {
      const err = refusalFor(Buffer.from(msg.payload).toString());
      if (err === null) return;
      if (err instanceof MqttRefusal) throw err;
      throw new MqttRefusal(mqttReasonCode(err), err.message);
    },
  };
}
