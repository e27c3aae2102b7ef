/**
 * Parsing a device's `logs` batch (decision 0032): the schema in protocol, then what a schema
 * cannot say — the batch's byte size, each timestamp a real date, the size of `fields`, numbers
 * that are finite, and a batch that says something. A bad batch is refused whole with
 * `device_payload_invalid` naming the record and the limit (MQTT 0x99), and nothing is stored.
 */
import { Buffer } from 'node:buffer';
import {
  BulwarkError,
  DEVICE_LOG_LIMITS,
  DeviceLogBatchPayload,
  type DeviceLogBatch,
} from '@bulwark/protocol';
import { decodePayload } from '../management/device-payloads.js';

const TOPIC = 'logs';

const fail = (why: string): never => {
  throw new BulwarkError('device_payload_invalid', `${TOPIC}: ${why}`);
};

/** A `logs` payload, checked. */
export function parseDeviceLogBatch(payload: Uint8Array): DeviceLogBatch {
  const v = decodePayload<DeviceLogBatch>(
    TOPIC,
    DeviceLogBatchPayload,
    payload,
    DEVICE_LOG_LIMITS.maxBatchBytes,
  );
  if (v.records.length === 0 && !(v.dropped !== undefined && v.dropped > 0))
    fail('a batch needs at least one record (or a dropped count)');
  v.records.forEach((r, i) => {
    if (Number.isNaN(Date.parse(r.ts))) fail(`records[${i}].ts must be an RFC 3339 timestamp`);
    if (r.fields === undefined) return;
    for (const [k, x] of Object.entries(r.fields))
      if (typeof x === 'number' && !Number.isFinite(x))
        fail(`records[${i}].fields.${k} must be a finite number`);
    const bytes = Buffer.byteLength(JSON.stringify(r.fields));
    if (bytes > DEVICE_LOG_LIMITS.maxFieldsBytes)
      fail(
        `records[${i}].fields is ${bytes} bytes of JSON; at most ${DEVICE_LOG_LIMITS.maxFieldsBytes}`,
      );
  });
  return v;
}
