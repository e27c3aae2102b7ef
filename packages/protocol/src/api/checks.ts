/**
 * Fleet audit checks (decision 0031): findings, suppressions and firmware advisories as the REST
 * API shows them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, PageQuery, Timestamp } from './common.js';
import { CHECK_IDS, FINDING_SEVERITIES, FIRMWARE_ADVISORY_STATUSES } from './enums.js';

export { CHECK_IDS, FINDING_SEVERITIES, FIRMWARE_ADVISORY_STATUSES };

const literals = <T extends string>(values: readonly T[]) =>
  Type.Union(values.map((v) => Type.Literal(v)));

export const CheckIdSchema = literals(CHECK_IDS);
export const FindingSeveritySchema = literals(FINDING_SEVERITIES);
export const FindingStateSchema = Type.Union([Type.Literal('open'), Type.Literal('resolved')]);

/** A thing a finding names: a device, a certificate (by serial), an API key, a user … */
export const FindingResourceSchema = Type.Object(
  {
    type: Type.String({ maxLength: 40 }),
    id: Type.String({ maxLength: 200 }),
  },
  { additionalProperties: false },
);

/**
 * A suppression: findings of `checkId` (about `resource`, `type:id`, when given) are still
 * listed, marked suppressed, until `expiresAt`.
 */
export const SuppressionSchema = Type.Object(
  {
    id: Id,
    checkId: CheckIdSchema,
    resource: Nullable(Type.String()),
    reason: Type.String(),
    createdBy: Nullable(Type.String()),
    createdAt: Timestamp,
    expiresAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SuppressionView = Static<typeof SuppressionSchema>;

/** One finding, with its identity across runs (first and last seen) and its suppression. */
export const FindingSchema = Type.Object(
  {
    id: Id,
    checkId: CheckIdSchema,
    severity: FindingSeveritySchema,
    state: FindingStateSchema,
    message: Type.String(),
    resources: Type.Array(FindingResourceSchema),
    firstSeenAt: Timestamp,
    lastSeenAt: Timestamp,
    resolvedAt: Nullable(Timestamp),
    suppressed: Type.Boolean(),
    suppression: Nullable(SuppressionSchema),
  },
  { additionalProperties: false },
);
export type FindingView = Static<typeof FindingSchema>;

export const FindingQuery = Type.Object(
  {
    checkId: Type.Optional(CheckIdSchema),
    severity: Type.Optional(FindingSeveritySchema),
    state: Type.Optional(FindingStateSchema),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type FindingQuery = Static<typeof FindingQuery>;

/** What one run of the checks found for the caller's organization. */
export const CheckRunSchema = Type.Object(
  {
    at: Timestamp,
    /** Whether the hub-configuration checks ran too (the hub's operator organization only). */
    hubChecks: Type.Boolean(),
    open: Type.Integer({ minimum: 0 }),
    new: Type.Integer({ minimum: 0 }),
    resolved: Type.Integer({ minimum: 0 }),
    bySeverity: Type.Object(
      {
        low: Type.Integer({ minimum: 0 }),
        medium: Type.Integer({ minimum: 0 }),
        high: Type.Integer({ minimum: 0 }),
        critical: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type CheckRunView = Static<typeof CheckRunSchema>;

/** Longest a suppression may last: a year, so nothing is silenced for good. */
export const MAX_SUPPRESSION_SECONDS = 366 * 86_400;

export const CreateSuppressionRequest = Type.Object(
  {
    checkId: CheckIdSchema,
    /** `type:id` of one resource (e.g. `device:<id>`); absent: every finding of the check. */
    resource: Type.Optional(
      Type.String({ minLength: 3, maxLength: 240, pattern: '^[a-z_]+:[^\\s]+$' }),
    ),
    reason: Type.String({ minLength: 3, maxLength: 500 }),
    ttlSeconds: Type.Integer({ minimum: 60, maximum: MAX_SUPPRESSION_SECONDS }),
  },
  { additionalProperties: false },
);
export type CreateSuppressionRequest = Static<typeof CreateSuppressionRequest>;

/** An operator's mark on a firmware artifact: withdrawn or vulnerable, with the reason. */
export const FirmwareAdvisorySchema = Type.Object(
  {
    artifactId: Id,
    status: literals(FIRMWARE_ADVISORY_STATUSES),
    reason: Type.String(),
    setBy: Nullable(Type.String()),
    setAt: Timestamp,
  },
  { additionalProperties: false },
);
export type FirmwareAdvisoryView = Static<typeof FirmwareAdvisorySchema>;

export const SetFirmwareAdvisoryRequest = Type.Object(
  {
    status: literals(FIRMWARE_ADVISORY_STATUSES),
    reason: Type.String({ minLength: 3, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type SetFirmwareAdvisoryRequest = Static<typeof SetFirmwareAdvisoryRequest>;
