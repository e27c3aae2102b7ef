/**
 * Rollouts and the auto-upgrade policy (issue 6, decision 0011): one artifact to many devices in
 * phases, limited in concurrency and rate, paused by failures; and "the current artifact of a
 * device type", installed on every device of that type reporting an older version.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Name, Nullable, PageQuery, Timestamp } from './common.js';
import { WEEKDAYS } from './enums.js';

export { WEEKDAYS };

const DeviceType = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$' });

export type Weekday = (typeof WEEKDAYS)[number];

/**
 * Which devices a rollout targets: every given condition holds. `deviceIds` is the "group": an
 * explicit list of devices (there are no stored device groups). Membership is re-read on every
 * step, so devices that come to match later are included.
 */
export const RolloutTargetSchema = Type.Object(
  {
    type: Type.Optional(DeviceType),
    tags: Type.Optional(Type.Array(Tag, { minItems: 1, maxItems: 16 })),
    location: Type.Optional(Id),
    deviceIds: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 10_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type RolloutTarget = Static<typeof RolloutTargetSchema>;

/**
 * A phase: how much of the target has been started by its end (cumulative), as a percentage or a
 * count, and the success percentage its finished jobs must reach before the next phase starts.
 */
export const RolloutPhaseSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    percent: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    successGate: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type RolloutPhase = Static<typeof RolloutPhaseSchema>;

/** When jobs may start: on these days (local to `timezone`), from `start` to `end` (HH:MM). */
export const RolloutWindowSchema = Type.Object(
  {
    days: Type.Optional(
      Type.Array(Type.Union(WEEKDAYS.map((d) => Type.Literal(d))), { minItems: 1, maxItems: 7 }),
    ),
    start: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    end: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    timezone: Type.String({ minLength: 1, maxLength: 64, default: 'UTC' }),
  },
  { additionalProperties: false },
);
export type RolloutWindow = Static<typeof RolloutWindowSchema>;

/** Pause when failures reach `percent` of the finished jobs, once `minDevices` have finished. */
export const FailureThresholdSchema = Type.Object(
  {
    percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    minDevices: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
);

export const CreateRolloutRequest = Type.Object(
  {
    name: Type.Optional(Name),
    artifactId: Id,
    target: RolloutTargetSchema,
    phases: Type.Optional(Type.Array(RolloutPhaseSchema, { minItems: 1, maxItems: 20 })),
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    ratePerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    failureThreshold: Type.Optional(FailureThresholdSchema),
    window: Type.Optional(RolloutWindowSchema),
  },
  { additionalProperties: false },
);
export type CreateRolloutRequest = Static<typeof CreateRolloutRequest>;

export const ROLLOUT_STATES = ['running', 'paused', 'canceled', 'completed'] as const;
export const RolloutStateSchema = Type.Union(ROLLOUT_STATES.map((s) => Type.Literal(s)));

const Count = Type.Integer({ minimum: 0 });

/** One phase's progress. */
export const RolloutPhaseProgressSchema = Type.Object(
  {
    index: Count,
    name: Nullable(Type.String()),
    /** Devices this phase ends at (cumulative, from the current target size). */
    limit: Count,
    started: Count,
    succeeded: Count,
    failed: Count,
    inFlight: Count,
    state: Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('done')]),
  },
  { additionalProperties: false },
);

/** Live progress, computed from the rollout's jobs and the current target. */
export const RolloutProgressSchema = Type.Object(
  {
    /** Target devices the artifact fits (already current ones included). */
    total: Count,
    /** Target devices already on the artifact's version (or newer) without a job: done. */
    current: Count,
    /** Devices with a job of this rollout. */
    started: Count,
    /** Jobs per state. */
    states: Type.Record(Type.String(), Count),
    succeeded: Count,
    /** failed + rolled_back + rejected + timed_out. */
    failed: Count,
    /** Jobs the device confirmed canceled (a cancel request alone does not count). */
    canceled: Count,
    inFlight: Count,
    /** Jobs in flight with a cancel request the device has not answered yet. */
    cancelRequested: Count,
    /** (succeeded + current) / total, 0..100. */
    percentDone: Type.Number({ minimum: 0, maximum: 100 }),
    /** Index of the phase being worked on, null when all are done. */
    currentPhase: Nullable(Count),
    phases: Type.Array(RolloutPhaseProgressSchema),
    windowOpen: Type.Boolean(),
    /** When the next job may start, if something holds it back (window, rate); else null. */
    nextEligibleAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);
export type RolloutProgressView = Static<typeof RolloutProgressSchema>;

export const RolloutSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    artifactId: Id,
    target: RolloutTargetSchema,
    phases: Type.Array(RolloutPhaseSchema),
    maxConcurrent: Type.Integer({ minimum: 1 }),
    ratePerMinute: Nullable(Type.Integer({ minimum: 1 })),
    failureThreshold: FailureThresholdSchema,
    window: Nullable(RolloutWindowSchema),
    state: RolloutStateSchema,
    pauseReason: Nullable(Type.String()),
    pauseDetail: Nullable(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
    createdBy: Type.String(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    progress: Type.Optional(RolloutProgressSchema),
  },
  { additionalProperties: false },
);
export type RolloutView = Static<typeof RolloutSchema>;

export const RolloutListQuery = Type.Object(
  { state: Type.Optional(RolloutStateSchema), ...PageQuery },
  { additionalProperties: false },
);
export type RolloutListQuery = Static<typeof RolloutListQuery>;

export const PauseRolloutRequest = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);

export const FIRMWARE_POLICY_STATES = ['active', 'paused'] as const;

/**
 * The gate of an auto-upgrade policy as it is now: its jobs since it was set (each device's latest
 * job counts), whether the window is open, and when the next job may start if something holds
 * devices back (window, rate, concurrency once a job finishes: then null with inFlight at the cap).
 */
export const FirmwarePolicyProgressSchema = Type.Object(
  {
    inFlight: Count,
    succeeded: Count,
    /** failed + rolled_back + rejected + timed_out. */
    failed: Count,
    canceled: Count,
    windowOpen: Type.Boolean(),
    nextEligibleAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);

/**
 * The auto-upgrade policy of one device type, with the limits it is offered under (as a
 * rollout's: jobs in flight, jobs started per minute, maintenance window, failure threshold).
 */
export const FirmwarePolicySchema = Type.Object(
  {
    type: Type.String(),
    artifactId: Id,
    version: Type.String(),
    setBy: Type.String(),
    setAt: Timestamp,
    maxConcurrent: Type.Integer({ minimum: 1 }),
    ratePerMinute: Nullable(Type.Integer({ minimum: 1 })),
    failureThreshold: FailureThresholdSchema,
    window: Nullable(RolloutWindowSchema),
    state: Type.Union(FIRMWARE_POLICY_STATES.map((s) => Type.Literal(s))),
    /** `failure_threshold` after an automatic pause. */
    pauseReason: Nullable(Type.String()),
    pauseDetail: Nullable(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
    progress: FirmwarePolicyProgressSchema,
  },
  { additionalProperties: false },
);
export type FirmwarePolicyView = Static<typeof FirmwarePolicySchema>;

export const FirmwarePolicyParams = Type.Object(
  { type: DeviceType },
  { additionalProperties: false },
);

/** Marks an artifact current; the limits left out take their defaults (decision 0011). */
export const SetFirmwarePolicyRequest = Type.Object(
  {
    artifactId: Id,
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    ratePerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    failureThreshold: Type.Optional(FailureThresholdSchema),
    window: Type.Optional(RolloutWindowSchema),
  },
  { additionalProperties: false },
);
export type SetFirmwarePolicyRequest = Static<typeof SetFirmwarePolicyRequest>;

export const FirmwarePolicyList = Type.Object(
  { items: Type.Array(FirmwarePolicySchema) },
  { additionalProperties: false },
);

/**
 * What a rollout request would do if created now (`POST /rollouts/preview`, nothing stored): the
 * devices its target matches that the artifact fits, which are current already, each phase's
 * cumulative size, and whether its window is open.
 */
export const RolloutPreviewSchema = Type.Object(
  {
    total: Count,
    current: Count,
    toUpdate: Count,
    phases: Type.Array(
      Type.Object(
        { index: Count, name: Nullable(Type.String()), limit: Count },
        { additionalProperties: false },
      ),
    ),
    windowOpen: Type.Boolean(),
    nextWindowAt: Nullable(Timestamp),
    /** The first 100 matching devices, by id. */
    devices: Type.Array(
      Type.Object(
        {
          id: Id,
          name: Type.String(),
          type: Type.String(),
          firmwareVersion: Nullable(Type.String()),
          current: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
    ),
    /** More devices match than are listed. */
    truncated: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type RolloutPreviewView = Static<typeof RolloutPreviewSchema>;
