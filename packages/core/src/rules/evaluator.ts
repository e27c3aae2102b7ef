/**
 * The incremental evaluator of rules on telemetry (decision 0035), with no I/O: an index of the
 * enabled rules by organization and record name, and per (rule, device) state. A message whose
 * organization has no rules costs one map lookup; a record no rule names costs one more.
 *
 * The state of a (rule, device) pair is the time the condition started to hold, and whether the
 * rule fired since. The rule fires once when the condition has held for its duration, and re-arms
 * when a record shows the condition no longer holds. Time is the hub's clock at acceptance, not
 * the device's record time: a device cannot shorten a duration by back-dating its records.
 */
import type { Envelope, SenmlRecord } from '../ports/messaging.js';
import type { RuleRecord } from '../ports/rules.js';
import {
  compileCondition,
  recordValue,
  type CompiledCondition,
  type RuleValue,
} from './condition.js';
import { isGroupScope } from './scope.js';

/** A rule made ready for evaluation. */
export interface CompiledRule {
  readonly rule: RuleRecord;
  readonly holds: CompiledCondition;
  readonly forMs: number;
  /** The scope names a device type, tag or location: the device's record decides. */
  readonly group: boolean;
  /** The state of each device this rule has seen (kept while the rule is unchanged). */
  readonly pairs: Map<string, PairState>;
}

/** One record of a message that an enabled rule looks at. */
export interface RuleHit {
  readonly rule: CompiledRule;
  readonly record: SenmlRecord;
  readonly value: RuleValue;
  readonly holds: boolean;
}

/** What one observation did to a (rule, device) pair. */
export type RuleTransition = 'fire' | 'clear';

/** What `evaluate` leaves to do: transitions to act on, and group-scoped hits to decide. */
export interface RuleOutcome {
  due: Array<{ hit: RuleHit; t: RuleTransition }>;
  unknown: RuleHit[];
}

/** The state of one (rule, device) pair. */
export interface PairState {
  /** Epoch ms since the condition holds; -1 while it does not. */
  since: number;
  fired: boolean;
  /** Epoch ms of the last firing; -Infinity before the first. */
  lastFired: number;
}

/** Options of RuleEvaluator. */
export interface RuleEvaluatorOptions {
  /**
   * Devices tracked per rule (default 100,000). Past it the pair seen longest ago is forgotten
   * (its duration starts afresh): the bound keeps a rule over a huge fleet from growing memory
   * without limit.
   */
  maxDevicesPerRule?: number;
  /**
   * Least time between two firings of one (rule, device) pair, ms (default 60,000). A device
   * whose value flaps around the threshold would otherwise make the hub queue a command, write
   * the twin and the audit log on every other message: the bound caps what one device can make
   * a rule do. A pair due again sooner fires at its first message after the interval.
   */
  minRefireMs?: number;
}

/** Default least interval between two firings of one (rule, device) pair. */
export const DEFAULT_RULE_REFIRE_MS = 60_000;

/** Compiles a stored rule (already checked). */
export function compileRule(rule: RuleRecord): CompiledRule {
  const s = rule.scope;
  return {
    rule,
    holds: compileCondition(rule.condition),
    forMs: rule.forSeconds * 1000,
    group: isGroupScope(s),
    pairs: new Map(),
  };
}

/** The index and the state machine; one per hub node. */
export class RuleEvaluator {
  /** orgId → record name → rules. */
  readonly #orgs = new Map<string, Map<string, CompiledRule[]>>();
  readonly #maxDevices: number;
  readonly #minRefireMs: number;

  constructor(opts: RuleEvaluatorOptions = {}) {
    this.#maxDevices = opts.maxDevicesPerRule ?? 100_000;
    this.#minRefireMs = opts.minRefireMs ?? DEFAULT_RULE_REFIRE_MS;
  }

  /** The organizations with indexed rules. */
  orgIds(): string[] {
    return [...this.#orgs.keys()];
  }

  /** How many enabled rules are indexed. */
  get size(): number {
    let n = 0;
    for (const byName of this.#orgs.values()) for (const rs of byName.values()) n += rs.length;
    return n;
  }

  /**
   * Replaces an organization's enabled rules. A rule unchanged (same `updatedAt`) keeps its
   * state; one that is gone, disabled or changed loses it: a changed rule starts afresh.
   */
  setOrg(orgId: string, rules: readonly RuleRecord[]): void {
    const before = new Map<string, CompiledRule>();
    for (const rs of this.#orgs.get(orgId)?.values() ?? [])
      for (const cr of rs) before.set(cr.rule.id, cr);
    const byName = new Map<string, CompiledRule[]>();
    for (const r of rules) {
      if (!r.enabled || r.orgId !== orgId) continue;
      const old = before.get(r.id);
      const cr = old !== undefined && old.rule.updatedAt === r.updatedAt ? old : compileRule(r);
      const list = byName.get(r.record);
      if (list) list.push(cr);
      else byName.set(r.record, [cr]);
    }
    if (byName.size === 0) this.#orgs.delete(orgId);
    else this.#orgs.set(orgId, byName);
  }

  /**
   * The records of a device's message that enabled rules of its organization look at, with
   * whether each condition holds; the channel and device parts of the scope are applied here,
   * the group part (type, tag, location) is the caller's. Undefined when none. Nothing is
   * stepped: for tools and tests; the engine's path is `evaluate`.
   */
  match(env: Envelope): RuleHit[] | undefined {
    const byName = this.#orgs.get(env.orgId);
    if (byName === undefined || env.senml === undefined) return undefined;
    // Rules act on the device that sent the message; an application's messages have none.
    if (env.publisher.type !== 'device') return undefined;
    let hits: RuleHit[] | undefined;
    for (const record of env.senml) {
      const rules = byName.get(record.n);
      if (rules === undefined) continue;
      const value = recordValue(record);
      if (value === undefined) continue;
      for (const rule of rules) {
        const s = rule.rule.scope;
        if (s.channelId !== undefined && s.channelId !== env.channelId) continue;
        if (s.deviceId !== undefined && s.deviceId !== env.publisher.id) continue;
        const holds = rule.holds(value);
        if (holds === undefined) continue;
        (hits ??= []).push({ rule, record, value, holds });
      }
    }
    return hits;
  }

  /**
   * Matches a device's message and steps every (rule, device) pair in one pass, allocating only
   * for what is due: the hot path of the engine. `inGroup` decides a group-scoped rule from what
   * is cached (undefined: it must be read; the hit is returned in `unknown`, not stepped).
   * Undefined when no rule looks at the message; null when rules looked but nothing is due.
   */
  evaluate(
    env: Envelope,
    inGroup: (rule: CompiledRule, orgId: string, deviceId: string) => boolean | undefined,
  ): RuleOutcome | null | undefined {
    const byName = this.#orgs.get(env.orgId);
    if (byName === undefined || env.senml === undefined) return undefined;
    if (env.publisher.type !== 'device') return undefined;
    const deviceId = env.publisher.id;
    let looked = false;
    let out: RuleOutcome | undefined;
    for (const record of env.senml) {
      const rules = byName.get(record.n);
      if (rules === undefined) continue;
      const value = recordValue(record);
      if (value === undefined) continue;
      for (const rule of rules) {
        const s = rule.rule.scope;
        if (s.channelId !== undefined && s.channelId !== env.channelId) continue;
        if (s.deviceId !== undefined && s.deviceId !== deviceId) continue;
        const holds = rule.holds(value);
        if (holds === undefined) continue;
        looked = true;
        if (rule.group) {
          const g = inGroup(rule, env.orgId, deviceId);
          if (g === undefined) {
            (out ??= { due: [], unknown: [] }).unknown.push({ rule, record, value, holds });
            continue;
          }
          if (!g) continue;
        }
        const t = this.step(rule, deviceId, holds, env.receivedAt);
        if (t !== undefined)
          (out ??= { due: [], unknown: [] }).due.push({ hit: { rule, record, value, holds }, t });
      }
    }
    return out ?? (looked ? null : undefined);
  }

  /**
   * Steps the (rule, device) pair with one observation at `now` (epoch ms): 'fire' when the
   * condition has now held for the rule's duration for the first time since it last cleared,
   * 'clear' when it stopped holding after the rule fired, else undefined.
   */
  step(
    rule: CompiledRule,
    deviceId: string,
    holds: boolean,
    now: number,
  ): RuleTransition | undefined {
    const pairs = rule.pairs;
    let state = pairs.get(deviceId);
    if (!holds) {
      // The pair is kept (not deleted) so a condition that flips often allocates nothing.
      if (state === undefined || state.since < 0) return undefined;
      state.since = -1;
      if (!state.fired) return undefined;
      state.fired = false;
      return 'clear';
    }
    if (state === undefined) {
      if (pairs.size >= this.#maxDevices) {
        const oldest = pairs.keys().next().value;
        if (oldest !== undefined) pairs.delete(oldest);
      }
      state = { since: now, fired: false, lastFired: -Infinity };
      pairs.set(deviceId, state);
    } else if (state.since < 0) state.since = now;
    if (state.fired || now - state.since < rule.forMs) return undefined;
    if (now - state.lastFired < this.#minRefireMs) return undefined;
    state.fired = true;
    state.lastFired = now;
    return 'fire';
  }

  /** Forgets every pair of a device (e.g. decommissioned); the next observation starts afresh. */
  forgetDevice(deviceId: string): void {
    for (const cr of this.#all()) cr.pairs.delete(deviceId);
  }

  /** The indexed rule of this id (a scan: for tests and tools, not the message path). */
  rule(ruleId: string): CompiledRule | undefined {
    for (const cr of this.#all()) if (cr.rule.id === ruleId) return cr;
    return undefined;
  }

  /** Pairs tracked (for tests and metrics). */
  get pairCount(): number {
    let n = 0;
    for (const cr of this.#all()) n += cr.pairs.size;
    return n;
  }

  *#all(): Generator<CompiledRule> {
    for (const byName of this.#orgs.values()) for (const rs of byName.values()) yield* rs;
  }
}
