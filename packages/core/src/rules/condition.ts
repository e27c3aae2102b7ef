/**
 * A rule's condition as a function of one resolved SenML record (decision 0035). Compiled once
 * per rule, so evaluating a record is a type test and a comparison.
 */
import type { RuleCondition } from '@bulwark/protocol';
import type { SenmlRecord } from '../ports/messaging.js';

/** A record's value as a rule sees it: `v`, `vs` or `vb` (data values and sums are not compared). */
export type RuleValue = number | string | boolean;

/** The value a rule compares, or undefined when the record carries none it can compare. */
export function recordValue(r: SenmlRecord): RuleValue | undefined {
  if (r.v !== undefined) return r.v;
  if (r.vs !== undefined) return r.vs;
  if (r.vb !== undefined) return r.vb;
  return undefined;
}

/**
 * Does the condition hold for the value? `undefined` when the value is not of the kind the
 * condition compares (a string for `gt`, a boolean for `eq 3`): such a record neither holds nor
 * clears the condition, it is ignored.
 */
export type CompiledCondition = (value: RuleValue) => boolean | undefined;

/** Compiles a condition that `checkRuleDefinition` accepted. */
export function compileCondition(c: RuleCondition): CompiledCondition {
  // One closure per operator, no wrapper: this runs for every record a rule names.
  switch (c.op) {
    case 'gt': {
      const k = c.value as number;
      return (x) => (typeof x === 'number' ? x > k : undefined);
    }
    case 'gte': {
      const k = c.value as number;
      return (x) => (typeof x === 'number' ? x >= k : undefined);
    }
    case 'lt': {
      const k = c.value as number;
      return (x) => (typeof x === 'number' ? x < k : undefined);
    }
    case 'lte': {
      const k = c.value as number;
      return (x) => (typeof x === 'number' ? x <= k : undefined);
    }
    case 'between': {
      const min = c.min as number;
      const max = c.max as number;
      return (x) => (typeof x === 'number' ? x >= min && x <= max : undefined);
    }
    case 'outside': {
      const min = c.min as number;
      const max = c.max as number;
      return (x) => (typeof x === 'number' ? x < min || x > max : undefined);
    }
    case 'eq':
    case 'ne': {
      const k = c.value as RuleValue;
      const same = c.op === 'eq';
      return (x) => (typeof x === typeof k ? (x === k) === same : undefined);
    }
  }
}

/** The condition in words, for alerts and audit details: `> 80`, `in [10, 20]`, `= "open"`. */
export function describeCondition(c: RuleCondition): string {
  const lit = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  switch (c.op) {
    case 'gt':
      return `> ${lit(c.value)}`;
    case 'gte':
      return `>= ${lit(c.value)}`;
    case 'lt':
      return `< ${lit(c.value)}`;
    case 'lte':
      return `<= ${lit(c.value)}`;
    case 'eq':
      return `= ${lit(c.value)}`;
    case 'ne':
      return `!= ${lit(c.value)}`;
    case 'between':
      return `in [${lit(c.min)}, ${lit(c.max)}]`;
    case 'outside':
      return `outside [${lit(c.min)}, ${lit(c.max)}]`;
  }
}
