/**
 * The detection rules (decision 0034): what each one counts, how it decides, and its shipped
 * defaults. The defaults are conservative on purpose — the goal is no alert at all on a normal
 * fleet — and every one can be disabled or tuned per organization (`DetectService.update`).
 */
import { BulwarkError, type DETECT_RULE_IDS } from '@bulwark/protocol';
import type { FindingSeverity } from '../ports/checks.js';

/** A detection rule's id (also the alert kind it raises). */
export type DetectRuleId = (typeof DETECT_RULE_IDS)[number];

/**
 * How a rule decides: a static `threshold` over a window; a learned `baseline` (robust band, plus
 * a hard ceiling); a `new_value` outside a learned set; an `event` the agent reports, at once.
 */
export type DetectRuleKind = 'threshold' | 'baseline' | 'new_value' | 'event';

/** A rule's settings. A setting the rule does not use is null. */
export interface RuleParams {
  enabled: boolean;
  /** The counting window (whole 10 s buckets). */
  windowSeconds: number;
  /** Fires at or above this (a baseline rule's hard ceiling). */
  threshold: number | null;
  /** Baseline: the band is median ± k·MAD (MAD scaled to a standard deviation). */
  k: number | null;
  /** Baseline: the band is at least this wide on each side, so a flat metric does not fire on noise. */
  minDeviation: number | null;
  /** Baseline and new-value rules: nothing fires from what a device learns before this long. */
  learningMinutes: number | null;
  /**
   * renewal_outside_schedule: a renewal before this fraction of the renewed certificate's
   * lifetime had passed fires (0: never; the agent renews at 2/3 by default).
   */
  minLifetimeFraction: number | null;
  /** An open alert resolves once the rule has not been breached for this long. */
  resolveAfterSeconds: number;
  /** After it resolves, the rule stays quiet for the device (or source) this long. */
  cooldownSeconds: number;
}

/** A rule: its fixed facts and default settings. */
export interface DetectRule {
  id: DetectRuleId;
  kind: DetectRuleKind;
  severity: FindingSeverity;
  /** The metric it reads (see engine.ts). */
  metric: string;
  /** Counted per device, or per source address (authentication failures have no device yet). */
  per: 'device' | 'source';
  description: string;
  defaults: RuleParams;
}

const base = {
  k: null,
  minDeviation: null,
  learningMinutes: null,
  minLifetimeFraction: null,
} as const;

/** Every rule, with its shipped defaults (the table in decision 0034). */
export const DETECT_RULES: Readonly<Record<DetectRuleId, DetectRule>> = {
  auth_bruteforce: {
    id: 'auth_bruteforce',
    kind: 'threshold',
    severity: 'high',
    metric: 'auth_failures',
    per: 'source',
    description:
      'Failed device or API-key authentications from one source address (any transport) at or above the threshold within the window: key guessing or scanning.',
    // The edge throttle blocks a source after 20 failures a minute (5 per claimed device), so a
    // guesser is counted in bursts; 10 in a minute is a burst no healthy device makes.
    defaults: {
      ...base,
      enabled: true,
      windowSeconds: 60,
      threshold: 10,
      resolveAfterSeconds: 600,
      cooldownSeconds: 1800,
    },
  },
  cloned_certificate: {
    id: 'cloned_certificate',
    kind: 'threshold',
    severity: 'critical',
    metric: 'cross_source_takeovers',
    per: 'device',
    description:
      "One device's credential (certificate or key) connected from two different source addresses at once, repeatedly: a live session was taken over by a connection from another address at least the threshold times within the window.",
    // A device that roams once (new address, old session still half-open) takes itself over once;
    // two copies fight and do it again and again.
    defaults: {
      ...base,
      enabled: true,
      windowSeconds: 300,
      threshold: 2,
      resolveAfterSeconds: 1800,
      cooldownSeconds: 3600,
    },
  },
  message_flood: {
    id: 'message_flood',
    kind: 'baseline',
    severity: 'medium',
    metric: 'messages_in',
    per: 'device',
    description:
      "Messages a device published in a window above its learned band (median + k·MAD, at least minDeviation above the median; its type's band until it has learned its own), or at or above the hard ceiling at any time.",
    defaults: {
      enabled: true,
      windowSeconds: 60,
      // 100 messages a second for a minute: far above any telemetry device, far below the broker.
      threshold: 6000,
      k: 8,
      minDeviation: 120,
      learningMinutes: 30,
      minLifetimeFraction: null,
      resolveAfterSeconds: 300,
      cooldownSeconds: 900,
    },
  },
  new_listening_port: {
    id: 'new_listening_port',
    kind: 'new_value',
    severity: 'medium',
    metric: 'listening_ports',
    per: 'device',
    description:
      'A port the agent reports the device listening on that it did not listen on during its learning period (or since): a new service or a backdoor.',
    defaults: {
      ...base,
      enabled: true,
      windowSeconds: 60,
      threshold: null,
      learningMinutes: 60,
      resolveAfterSeconds: 3600,
      cooldownSeconds: 0,
    },
  },
  disallowed_connection: {
    id: 'disallowed_connection',
    kind: 'event',
    severity: 'high',
    metric: 'disallowed_connections',
    per: 'device',
    description:
      "A connection the agent found outside the device's allowlist (its `connection_not_allowed` event): fires at once.",
    defaults: {
      ...base,
      enabled: true,
      windowSeconds: 60,
      threshold: null,
      resolveAfterSeconds: 3600,
      cooldownSeconds: 0,
    },
  },
  connection_churn: {
    id: 'connection_churn',
    kind: 'threshold',
    severity: 'medium',
    metric: 'connects',
    per: 'device',
    description:
      'Connections of one device at or above the threshold within the window: a crash loop, a fight over its session, or a credential shared by many.',
    // One connection every 15 s for five minutes; the agent's reconnect backoff never does that.
    defaults: {
      ...base,
      enabled: true,
      windowSeconds: 300,
      threshold: 20,
      resolveAfterSeconds: 900,
      cooldownSeconds: 1800,
    },
  },
  renewal_outside_schedule: {
    id: 'renewal_outside_schedule',
    kind: 'threshold',
    severity: 'medium',
    metric: 'renewals',
    per: 'device',
    description:
      "A device renewed its certificate outside the agent's schedule: before minLifetimeFraction of the renewed certificate's lifetime had passed (the agent renews at 2/3 of it by default), or at least the threshold times within the window — a copied key renewing for itself, or a device pushed off its schedule.",
    // A device renews once every ~8 months (2/3 of 365 days); twice in a day, or at less than
    // half of the lifetime, is not the agent's schedule. A lost answer retried is no new renewal.
    defaults: {
      ...base,
      enabled: true,
      windowSeconds: 86_400,
      threshold: 2,
      minLifetimeFraction: 0.5,
      resolveAfterSeconds: 86_400,
      cooldownSeconds: 86_400,
    },
  },
};

/** Counter windows are at most this long (the 10 s buckets' memory); see WINDOW_FROM_STORE. */
const MAX_COUNTER_WINDOW_SECONDS = 900;
/** Rules that count from the store, not the in-memory buckets: their window may be longer. */
const WINDOW_FROM_STORE: readonly DetectRuleId[] = ['renewal_outside_schedule'];

/** Settings only one rule uses, beside those of its kind. */
const EXTRA: Partial<Record<DetectRuleId, readonly (keyof RuleParams)[]>> = {
  renewal_outside_schedule: ['minLifetimeFraction'],
};

/** The settings an organization may change (the request's fields). */
export type RuleUpdate = Partial<RuleParams>;

/** Which settings a kind of rule uses (the rest stay null and may not be set). */
const USES: Record<DetectRuleKind, readonly (keyof RuleParams)[]> = {
  threshold: ['threshold'],
  baseline: ['threshold', 'k', 'minDeviation', 'learningMinutes'],
  new_value: ['learningMinutes'],
  event: [],
};

const ALWAYS: readonly (keyof RuleParams)[] = [
  'enabled',
  'windowSeconds',
  'resolveAfterSeconds',
  'cooldownSeconds',
];

/** Refuses a setting the rule does not use (bounds are the request schema's). */
export function checkRuleUpdate(rule: DetectRule, update: RuleUpdate): void {
  for (const key of Object.keys(update) as (keyof RuleParams)[]) {
    if (ALWAYS.includes(key) || USES[rule.kind].includes(key)) continue;
    if (EXTRA[rule.id]?.includes(key)) continue;
    throw new BulwarkError('validation_failed', `rule ${rule.id} has no setting ${key}`);
  }
  const w = update.windowSeconds;
  if (
    w !== undefined &&
    w !== null &&
    w > MAX_COUNTER_WINDOW_SECONDS &&
    !WINDOW_FROM_STORE.includes(rule.id)
  )
    throw new BulwarkError(
      'validation_failed',
      `rule ${rule.id} counts over at most ${MAX_COUNTER_WINDOW_SECONDS} s (windowSeconds)`,
    );
}

/** The settings in force: the defaults with the organization's changes over them. */
export function effectiveParams(rule: DetectRule, changed: RuleUpdate | undefined): RuleParams {
  if (!changed) return rule.defaults;
  const out: RuleParams = { ...rule.defaults };
  for (const key of [...ALWAYS, ...USES[rule.kind], ...(EXTRA[rule.id] ?? [])]) {
    const v = changed[key];
    if (v !== undefined && v !== null) (out as unknown as Record<string, unknown>)[key] = v;
  }
  return out;
}

/** Parses stored settings JSON leniently: unknown keys and wrong types are dropped. */
export function parseStoredUpdate(json: string): RuleUpdate {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'enabled' ? typeof v === 'boolean' : typeof v === 'number' && Number.isFinite(v))
      out[k] = v;
  }
  return out;
}
