/**
 * Mitigations over REST (issue 14 item 3, decision 0036): a person's action on a device, policies
 * that bind an action to alerts, and the log of actions with their revert.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AlertKindSchema, AlertSeveritySchema } from './alerts.js';
import { Id, Name, Nullable, PageQuery, Timestamp } from './common.js';
import { MITIGATION_ACTIONS, MITIGATION_STATES } from './enums.js';
import { JsonObject } from './management.js';

export { MITIGATION_ACTIONS, MITIGATION_STATES };

export const MitigationActionSchema = Type.Union(MITIGATION_ACTIONS.map((a) => Type.Literal(a)));
export const MitigationStateSchema = Type.Union(MITIGATION_STATES.map((s) => Type.Literal(s)));

/**
 * An action's parameters: `revoke` {reason?, serial?, keyId?}, `set_desired` {patch},
 * `start_update` {artifactId, timeoutSeconds?}, `notify` {severity?, title?}, `block_source`
 * {source?, durationSeconds?}; `quarantine` and `release` none.
 */
const Params = JsonObject;

export const MitigateRequest = Type.Object(
  {
    action: MitigationActionSchema,
    params: Type.Optional(Params),
    /** Say exactly what would be done; change nothing. */
    dryRun: Type.Optional(Type.Boolean()),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    /** The alert this answers (of the same organization). */
    alertId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type MitigateRequest = Static<typeof MitigateRequest>;

export const MitigationSchema = Type.Object(
  {
    id: Id,
    /** The device acted on; null for block_source (the address is params.source). */
    deviceId: Nullable(Id),
    alertId: Nullable(Id),
    policyId: Nullable(Id),
    /** `user:ID`, `api_key:ID` or `policy:ID`. */
    actor: Type.String(),
    action: MitigationActionSchema,
    params: Params,
    state: MitigationStateSchema,
    reason: Nullable(Type.String()),
    /** What was done, or for a dry run what would be done. */
    summary: Type.Array(Type.String()),
    /** What a revert restores (null: nothing to restore). */
    previous: Nullable(JsonObject),
    error: Nullable(Type.String()),
    at: Timestamp,
    revertedAt: Nullable(Timestamp),
    revertedBy: Nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type MitigationView = Static<typeof MitigationSchema>;

export const MitigationListQuery = Type.Object(
  {
    deviceId: Type.Optional(Id),
    alertId: Type.Optional(Id),
    state: Type.Optional(MitigationStateSchema),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type MitigationListQuery = Static<typeof MitigationListQuery>;

export const CreateMitigationPolicyRequest = Type.Object(
  {
    name: Name,
    enabled: Type.Optional(Type.Boolean()),
    /** The alert kinds it answers (at least one). */
    kinds: Type.Array(AlertKindSchema, { minItems: 1, maxItems: 50 }),
    /** Default `high`. */
    minSeverity: Type.Optional(AlertSeveritySchema),
    /** Devices there and in every location below; null or absent: the whole organization. */
    locationId: Type.Optional(Nullable(Id)),
    action: MitigationActionSchema,
    params: Type.Optional(Params),
    dryRun: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateMitigationPolicyRequest = Static<typeof CreateMitigationPolicyRequest>;

export const UpdateMitigationPolicyRequest = Type.Partial(CreateMitigationPolicyRequest, {
  additionalProperties: false,
});
export type UpdateMitigationPolicyRequest = Static<typeof UpdateMitigationPolicyRequest>;

export const MitigationPolicySchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    enabled: Type.Boolean(),
    kinds: Type.Array(Type.String()),
    minSeverity: AlertSeveritySchema,
    locationId: Nullable(Id),
    action: MitigationActionSchema,
    params: Params,
    dryRun: Type.Boolean(),
    /** Whose authority it acts with: `user:ID` or `api_key:ID`. */
    createdBy: Type.String(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type MitigationPolicyView = Static<typeof MitigationPolicySchema>;
