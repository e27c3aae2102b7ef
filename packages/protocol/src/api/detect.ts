/**
 * Detection rules and baselines (decision 0034) as the REST API shows them: each rule with its
 * organization's settings beside the shipped defaults, and one device's live counters and learned
 * baselines with the band a rule compares against.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';
import { DETECT_RULE_IDS, FINDING_SEVERITIES } from './enums.js';

export { DETECT_RULE_IDS };

export const DetectRuleIdSchema = Type.Union(DETECT_RULE_IDS.map((v) => Type.Literal(v)));

/** How a rule decides. */
export const DETECT_RULE_KINDS = ['threshold', 'baseline', 'new_value', 'event'] as const;

/**
 * A rule's tunable settings. A setting a rule does not use is null (e.g. `k` of a static
 * threshold rule); `threshold` of a baseline rule is its hard ceiling.
 */
export const DetectRuleParamsSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    windowSeconds: Type.Integer(),
    threshold: Nullable(Type.Number()),
    k: Nullable(Type.Number()),
    minDeviation: Nullable(Type.Number()),
    learningMinutes: Nullable(Type.Integer()),
    minLifetimeFraction: Nullable(Type.Number()),
    resolveAfterSeconds: Type.Integer(),
    cooldownSeconds: Type.Integer(),
  },
  { additionalProperties: false },
);
export type DetectRuleParamsView = Static<typeof DetectRuleParamsSchema>;

/** One rule as an organization has it. */
export const DetectRuleSchema = Type.Object(
  {
    id: DetectRuleIdSchema,
    kind: Type.Union(DETECT_RULE_KINDS.map((k) => Type.Literal(k))),
    severity: Type.Union(FINDING_SEVERITIES.map((s) => Type.Literal(s))),
    /** What is counted, and per what (`device` or `source` address). */
    metric: Type.String(),
    per: Type.Union([Type.Literal('device'), Type.Literal('source')]),
    description: Type.String(),
    /** The settings in force for the organization. */
    settings: DetectRuleParamsSchema,
    /** The shipped defaults. */
    defaults: DetectRuleParamsSchema,
    /** When the organization last changed it (null: the defaults). */
    updatedAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);
export type DetectRuleView = Static<typeof DetectRuleSchema>;

export const DetectRuleParams = Type.Object(
  { id: DetectRuleIdSchema },
  { additionalProperties: false },
);

const bounded = (min: number, max: number, what: string) =>
  Type.Integer({ minimum: min, maximum: max, description: `must be ${what} (${min}..${max})` });

/**
 * A change to one rule's settings; omitted fields keep their value. A setting the rule does not
 * use is refused.
 */
export const UpdateDetectRuleRequest = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'must be true or false' })),
    // Windows are whole 10-second counter buckets, at most 15 minutes (the counters' memory) —
    // except renewal_outside_schedule's, counted from the stored certificates (up to a week).
    windowSeconds: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 604_800,
        multipleOf: 10,
        description:
          'must be a multiple of 10 seconds from 10 to 900 (renewal_outside_schedule: up to 604800)',
      }),
    ),
    threshold: Type.Optional(
      Type.Number({ minimum: 1, maximum: 1e12, description: 'must be a number from 1 to 1e12' }),
    ),
    k: Type.Optional(
      Type.Number({ minimum: 1, maximum: 100, description: 'must be a number from 1 to 100' }),
    ),
    minDeviation: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1e12, description: 'must be a number from 0 to 1e12' }),
    ),
    learningMinutes: Type.Optional(bounded(1, 43_200, 'whole minutes, up to 30 days')),
    minLifetimeFraction: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'must be a number from 0 to 1' }),
    ),
    resolveAfterSeconds: Type.Optional(bounded(10, 604_800, 'seconds, up to a week')),
    cooldownSeconds: Type.Optional(bounded(0, 604_800, 'seconds, up to a week')),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateDetectRuleRequest = Static<typeof UpdateDetectRuleRequest>;

/** A learned baseline: robust statistics of a device's (or its group's) per-window values. */
export const DetectBaselineSchema = Type.Object(
  {
    /** Window values learned so far (the newest are kept). */
    samples: Type.Integer(),
    learned: Type.Boolean(),
    /** When the learning period ends (null once learned). */
    learningEndsAt: Nullable(Timestamp),
    median: Nullable(Type.Number()),
    /** Median absolute deviation. */
    mad: Nullable(Type.Number()),
  },
  { additionalProperties: false },
);

/** One rule's view of one device: its counter now, its baseline, the band it is held to. */
export const DetectDeviceMetricSchema = Type.Object(
  {
    ruleId: DetectRuleIdSchema,
    metric: Type.String(),
    windowSeconds: Type.Integer(),
    /** The value of the current (unfinished) window on this node. */
    current: Type.Number(),
    baseline: Nullable(DetectBaselineSchema),
    /** Where the band comes from: the device's own baseline, its type's, a fixed threshold, none. */
    basis: Type.Union([
      Type.Literal('device'),
      Type.Literal('group'),
      Type.Literal('threshold'),
      Type.Literal('none'),
    ]),
    band: Type.Object(
      { low: Nullable(Type.Number()), high: Nullable(Type.Number()) },
      { additionalProperties: false },
    ),
    /** For `new_listening_port`: the ports the device is known to listen on. */
    knownPorts: Type.Optional(Type.Array(Type.Integer())),
  },
  { additionalProperties: false },
);

/** A rule that fired for the device and is open or cooling down, with its evidence. */
export const DetectGateSchema = Type.Object(
  {
    ruleId: DetectRuleIdSchema,
    state: Type.Union([Type.Literal('open'), Type.Literal('cooldown')]),
    since: Timestamp,
    lastBreachAt: Timestamp,
    evidence: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

/** A device as the detection engine of the answering node sees it. */
export const DetectDeviceSchema = Type.Object(
  {
    deviceId: Id,
    /** The node whose counters these are (each node counts what it sees; decision 0034). */
    node: Type.String(),
    /** The device group whose baseline is the fallback (its type). */
    group: Type.String(),
    /** Whether this node holds live counters for the device (it has seen it recently). */
    tracked: Type.Boolean(),
    /** Every counter of the device over the last minute on this node (messages, bytes, denials …). */
    counters: Type.Record(Type.String(), Type.Number()),
    metrics: Type.Array(DetectDeviceMetricSchema),
    gates: Type.Array(DetectGateSchema),
  },
  { additionalProperties: false },
);
export type DetectDeviceView = Static<typeof DetectDeviceSchema>;
