/**
 * The meaning checks of a rule (decision 0035), after its shape passed the route schema: the
 * condition's operands fit its operator, the duration is bounded, each action is one the hub can
 * take (command name and params, a twin path outside the hub-managed sections). Every refusal is a
 * `rule_invalid` error whose message and `field` name the offending part. The checks that need
 * storage (the scope's channel, device and location belong to the organization) are the service's.
 */
import { Buffer } from 'node:buffer';
import {
  BulwarkError,
  RULE_MAX_ACTIONS,
  RULE_MAX_FOR_SECONDS,
  RULE_OPS,
  type RuleAction,
  type RuleCondition,
} from '@bulwark/protocol';
import type { RuleDefinition } from '../ports/rules.js';
import { isObject, jsonProblem, MAX_TWIN_BYTES, MAX_TWIN_DEPTH } from '../management/twin-json.js';

/** A refusal naming the field. */
export function ruleInvalid(field: string, message: string): BulwarkError {
  return new BulwarkError('rule_invalid', `${field}: ${message}`, { extra: { field } });
}

/**
 * Desired-twin sections a rule may not write. `tickets` is the hub's own (the revoked local-port
 * tickets, decision 0013): a rule writing it could un-revoke one. `network` holds the device's
 * connection allowlist, which needs `network:configure`; rules are authored with `devices:manage`.
 */
export const RULE_RESERVED_TWIN_SECTIONS: readonly string[] = ['tickets', 'network'];

/** One key of a twin path: what a device's twin section or parameter name looks like. */
const TWIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkCondition(c: RuleCondition): void {
  const f = 'condition';
  if (!(RULE_OPS as readonly string[]).includes(c.op))
    throw ruleInvalid(`${f}.op`, `unknown operator ${JSON.stringify(c.op)}`);
  const range = c.op === 'between' || c.op === 'outside';
  if (range) {
    if (c.value !== undefined)
      throw ruleInvalid(`${f}.value`, `${c.op} takes min and max, not value`);
    if (!isNum(c.min)) throw ruleInvalid(`${f}.min`, `${c.op} needs a numeric min`);
    if (!isNum(c.max)) throw ruleInvalid(`${f}.max`, `${c.op} needs a numeric max`);
    if (c.min > c.max) throw ruleInvalid(`${f}.min`, `min ${c.min} is above max ${c.max}`);
    return;
  }
  if (c.min !== undefined || c.max !== undefined)
    throw ruleInvalid(`${f}.${c.min !== undefined ? 'min' : 'max'}`, `${c.op} takes value only`);
  if (c.value === undefined) throw ruleInvalid(`${f}.value`, `${c.op} needs a value`);
  if (c.op === 'eq' || c.op === 'ne') {
    const t = typeof c.value;
    if (t !== 'number' && t !== 'string' && t !== 'boolean')
      throw ruleInvalid(`${f}.value`, 'must be a number, a string or a boolean');
    if (t === 'number' && !isNum(c.value)) throw ruleInvalid(`${f}.value`, 'must be finite');
    if (t === 'string' && (c.value as string).length > 200)
      throw ruleInvalid(`${f}.value`, 'a string of at most 200 characters');
    return;
  }
  if (!isNum(c.value))
    throw ruleInvalid(`${f}.value`, `${c.op} compares numbers (SenML v); the value must be one`);
}

/** The merge patch that sets `path` (checked) to `value` in the desired state. */
export function twinPatchFor(path: string, value: unknown): { [key: string]: unknown } {
  const keys = path.split('.');
  let patch: unknown = value;
  for (let i = keys.length - 1; i >= 0; i--) patch = { [keys[i] as string]: patch };
  return patch as { [key: string]: unknown };
}

function checkAction(a: RuleAction, i: number): void {
  const f = `actions[${i}]`;
  switch (a.type) {
    case 'alert':
      return;
    case 'command': {
      if (!COMMAND_NAME.test(a.name))
        throw ruleInvalid(`${f}.name`, 'a command name is a letter then letters, digits, . _ -');
      if (a.params !== undefined) {
        if (!isObject(a.params)) throw ruleInvalid(`${f}.params`, 'must be a JSON object');
        const p = jsonProblem(a.params);
        if (p !== null) throw ruleInvalid(`${f}.params`, p);
        const size = Buffer.byteLength(JSON.stringify(a.params));
        if (size > MAX_TWIN_BYTES)
          throw ruleInvalid(`${f}.params`, `is ${size} bytes; at most ${MAX_TWIN_BYTES}`);
      }
      return;
    }
    case 'twin': {
      const keys = a.path.split('.');
      if (keys.length > MAX_TWIN_DEPTH - 1)
        throw ruleInvalid(`${f}.path`, `at most ${MAX_TWIN_DEPTH - 1} levels deep`);
      const bad = keys.find((k) => !TWIN_KEY.test(k));
      if (bad !== undefined)
        throw ruleInvalid(
          `${f}.path`,
          `${JSON.stringify(bad)} is not a twin key (a letter or _, then letters, digits, _ or -; keys joined by .)`,
        );
      const section = keys[0] as string;
      if (RULE_RESERVED_TWIN_SECTIONS.includes(section))
        throw ruleInvalid(`${f}.path`, `the ${section} section is not writable by rules`);
      if (a.value === undefined) throw ruleInvalid(`${f}.value`, 'is required');
      if (a.value === null)
        throw ruleInvalid(`${f}.value`, 'null would delete the key; rules set values');
      const p = jsonProblem(a.value, `${f}.value`, keys.length);
      if (p !== null) throw ruleInvalid(`${f}.value`, p);
      const size = Buffer.byteLength(JSON.stringify(twinPatchFor(a.path, a.value)));
      if (size > MAX_TWIN_BYTES)
        throw ruleInvalid(`${f}.value`, `is ${size} bytes; at most ${MAX_TWIN_BYTES}`);
      return;
    }
    case 'webhook':
      // The endpoint's existence and kind are checked against the store (RuleService).
      return;
    default:
      throw ruleInvalid(
        `${f}.type`,
        `unknown action ${JSON.stringify((a as { type: unknown }).type)}`,
      );
  }
}

/** Checks a rule's definition; throws `rule_invalid` naming the first bad field. */
export function checkRuleDefinition(def: RuleDefinition): void {
  if (def.record.length === 0 || def.record.length > 200)
    throw ruleInvalid('record', 'a SenML record name of 1..200 characters');
  checkCondition(def.condition);
  if (
    !Number.isInteger(def.forSeconds) ||
    def.forSeconds < 0 ||
    def.forSeconds > RULE_MAX_FOR_SECONDS
  )
    throw ruleInvalid('forSeconds', `a whole number of seconds, 0..${RULE_MAX_FOR_SECONDS}`);
  if (def.actions.length === 0 || def.actions.length > RULE_MAX_ACTIONS)
    throw ruleInvalid('actions', `1..${RULE_MAX_ACTIONS} actions`);
  def.actions.forEach(checkAction);
  const twins = def.actions.filter((a) => a.type === 'twin').map((a) => a.path);
  const dup = twins.find((p, i) =>
    twins.some((q, j) => j < i && (q === p || q.startsWith(`${p}.`) || p.startsWith(`${q}.`))),
  );
  if (dup !== undefined)
    throw ruleInvalid(
      'actions',
      `two twin actions write ${JSON.stringify(dup)} or a path around it`,
    );
  if (def.actions.filter((a) => a.type === 'alert').length > 1)
    throw ruleInvalid('actions', 'at most one alert action');
  const hooks = def.actions.flatMap((a) => (a.type === 'webhook' ? [a.endpointId] : []));
  if (new Set(hooks).size !== hooks.length)
    throw ruleInvalid('actions', 'two webhook actions name the same endpoint');
}
