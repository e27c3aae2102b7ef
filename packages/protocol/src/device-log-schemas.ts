/**
 * The `logs` message of the device plane (device-logs.ts, decision 0032) as a JSON Schema
 * (TypeBox). The byte size of a batch and of `fields`, and a timestamp that is a real date, are
 * checked by the hub's parser (core/src/logs/log-payloads.ts), as the schema cannot say them.
 */
import { Type } from '@sinclair/typebox';
import { DEVICE_LOG_LIMITS, LOG_LEVELS } from './device-logs.js';
import { CountSchema, object, Rfc3339Schema } from './schema-parts.js';

const L = DEVICE_LOG_LIMITS;

/** One record of a `logs` batch. */
export const DeviceLogRecordPayload = object(
  {
    ts: Rfc3339Schema,
    level: Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { errorMessage: `must be one of ${LOG_LEVELS.join(', ')}` },
    ),
    source: Type.String({
      minLength: 1,
      maxLength: L.maxSourceChars,
      errorMessage: `must be a string of 1 to ${L.maxSourceChars} characters`,
    }),
    message: Type.String({
      maxLength: L.maxMessageChars,
      errorMessage: `must be a string of at most ${L.maxMessageChars} characters`,
    }),
    fields: Type.Optional(
      Type.Record(
        Type.String({ minLength: 1, maxLength: 64 }),
        Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
        {
          maxProperties: L.maxFieldKeys,
          errorMessage: `must be an object of at most ${L.maxFieldKeys} keys (1-64 characters) with string, number or boolean values`,
        },
      ),
    ),
  },
  'One log line: when the device logged it, its level, where it came from, the text (secrets already redacted on the device) and structured extras.',
);

/** `logs` (device → hub, QoS 1). */
export const DeviceLogBatchPayload = object(
  {
    records: Type.Array(DeviceLogRecordPayload, {
      maxItems: L.maxRecords,
      errorMessage: `must be an array of at most ${L.maxRecords} records`,
    }),
    dropped: Type.Optional(CountSchema),
  },
  `A batch of up to ${L.maxRecords} log records (at most ${L.maxBatchBytes} bytes); \`dropped\` counts records the device's full buffer dropped since its last acknowledged batch.`,
);
