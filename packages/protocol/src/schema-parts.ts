/**
 * Building blocks of the device-plane payload schemas (device-plane-schemas.ts,
 * update-schemas.ts). Internal to protocol: not part of its public surface.
 */
import { Type, type TSchema } from '@sinclair/typebox';

/** A non-negative safe integer (a JSON number JavaScript reads exactly). */
export const CountSchema = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  errorMessage: 'must be a non-negative integer',
});
/** A finite number ≥ 0. */
export const NonNegative = Type.Number({ minimum: 0, errorMessage: 'must be a number ≥ 0' });

/** RFC 3339 date-time (the parsers also check it is a real date). */
export const Rfc3339Schema = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$',
  description: 'RFC 3339 date-time',
  errorMessage: 'must be an RFC 3339 timestamp',
});

/** A JSON object of configuration or data (free-form; the hub limits depth and size). */
export const JsonObjectSchema: TSchema = Type.Record(Type.String(), Type.Unknown(), {
  description: 'A JSON object (free-form).',
  errorMessage: 'must be a JSON object',
});

/**
 * A message a device sends: exactly these fields (the hub refuses an unknown one, naming it).
 * `errorMessage` is what a refusal says when the value is not such an object.
 */
export const object = <P extends Parameters<typeof Type.Object>[0]>(
  props: P,
  description: string,
  errorMessage = 'must be a JSON object',
) => Type.Object(props, { additionalProperties: false, description, errorMessage });

/**
 * A message the hub sends: these fields, and a device ignores any it does not know, so a newer
 * hub may add one without breaking older devices.
 */
export const hubObject = <P extends Parameters<typeof Type.Object>[0]>(
  props: P,
  description: string,
) =>
  Type.Object(props, {
    description: `${description} A device ignores fields it does not know.`,
    errorMessage: 'must be a JSON object',
  });
