/**
 * Checking a JSON value against a TypeBox schema of the wire contract, with one precise sentence
 * for the first problem — what a device is told (MQTT 0x99 with a reason string) when the hub
 * refuses its message, and what the agent logs when the hub's message does not parse. A schema
 * node may carry `errorMessage` (the ajv-errors convention), the phrase said after the field's
 * name; without one, TypeBox's own message is used.
 */
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

/** `/events/0/kind` → `events[0].kind` (under `root` for a value that is itself an array). */
function fieldName(path: string, root: string): string {
  let out = '';
  for (const raw of path.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out.startsWith('[') ? `${root}${out}` : out;
}

/**
 * The first problem of `value` against `schema` as a sentence (`"version" must be a non-negative
 * integer`, `unknown field "progress.eta"`), or null when it conforms. `root` names a value that
 * is an array (`events` → `"events[0].kind" …`).
 */
export function firstProblem(schema: TSchema, value: unknown, root = 'value'): string | null {
  const e = Value.Errors(schema, value).First();
  if (e === undefined) return null;
  const name = fieldName(e.path, root);
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return `unknown field "${name}"`;
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `"${name}" is required`;
  const said = (e.schema as { errorMessage?: unknown }).errorMessage;
  const phrase =
    typeof said === 'string' ? said : e.message.charAt(0).toLowerCase() + e.message.slice(1);
  return name === '' ? phrase : `"${name}" ${phrase}`;
}

/** Does `value` conform to `schema`? */
export function conforms(schema: TSchema, value: unknown): boolean {
  return Value.Check(schema, value);
}
