/**
 * Alerts over REST (issue 14, decision 0030): the lifecycle open → acknowledged → resolved,
 * severity, deduplication (one active alert per dedup key, its occurrences counted), groups,
 * evidence, an assignee, comments and a mute window.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, PageQuery, Timestamp } from './common.js';
import { ALERT_SEVERITIES, ALERT_STATES } from './enums.js';
import { JsonObject } from './management.js';

export { ALERT_SEVERITIES, ALERT_STATES };

export const AlertSeveritySchema = Type.Union(ALERT_SEVERITIES.map((s) => Type.Literal(s)));
export const AlertStateSchema = Type.Union(ALERT_STATES.map((s) => Type.Literal(s)));
/** An alert kind: open-ended (see KNOWN_ALERT_KINDS for the ones Bulwark raises). */
export const AlertKindSchema = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' });

export const AlertSchema = Type.Object(
  {
    id: Id,
    deviceId: Nullable(Id),
    kind: AlertKindSchema,
    severity: AlertSeveritySchema,
    state: AlertStateSchema,
    title: Type.String(),
    dedupKey: Type.String(),
    groupKey: Type.String(),
    evidence: JsonObject,
    occurrences: Type.Integer({ minimum: 1 }),
    openedAt: Timestamp,
    lastSeenAt: Timestamp,
    acknowledgedAt: Nullable(Timestamp),
    acknowledgedBy: Nullable(Type.String()),
    resolvedAt: Nullable(Timestamp),
    resolvedBy: Nullable(Type.String()),
    assignee: Nullable(Id),
    mutedUntil: Nullable(Timestamp),
    muteReason: Nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type AlertView = Static<typeof AlertSchema>;

export const AlertCommentSchema = Type.Object(
  { id: Id, author: Type.String(), body: Type.String(), at: Timestamp },
  { additionalProperties: false },
);
export type AlertCommentView = Static<typeof AlertCommentSchema>;

/** One alert with its comments (oldest first). */
export const AlertDetailSchema = Type.Object(
  { ...AlertSchema.properties, comments: Type.Array(AlertCommentSchema) },
  { additionalProperties: false },
);
export type AlertDetailView = Static<typeof AlertDetailSchema>;

export const AlertListQuery = Type.Object(
  {
    state: Type.Optional(
      Type.Union([...ALERT_STATES.map((s) => Type.Literal(s)), Type.Literal('active')], {
        description: '`active`: open or acknowledged.',
      }),
    ),
    deviceId: Type.Optional(Id),
    kind: Type.Optional(AlertKindSchema),
    severity: Type.Optional(AlertSeveritySchema),
    groupKey: Type.Optional(Type.String({ maxLength: 200 })),
    assignee: Type.Optional(Id),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type AlertListQuery = Static<typeof AlertListQuery>;

export const AlertGroupSchema = Type.Object(
  {
    groupKey: Type.String(),
    kind: Type.String(),
    count: Type.Integer({ minimum: 1 }),
    severity: AlertSeveritySchema,
    lastSeenAt: Timestamp,
  },
  { additionalProperties: false },
);
export const AlertGroupsSchema = Type.Object(
  { items: Type.Array(AlertGroupSchema) },
  { additionalProperties: false },
);
export type AlertGroupView = Static<typeof AlertGroupSchema>;

export const AssignAlertRequest = Type.Object(
  { userId: Nullable(Id) },
  { additionalProperties: false },
);
export type AssignAlertRequest = Static<typeof AssignAlertRequest>;

export const CommentAlertRequest = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 4000 }) },
  { additionalProperties: false },
);
export type CommentAlertRequest = Static<typeof CommentAlertRequest>;

export const MuteAlertRequest = Type.Object(
  {
    minutes: Nullable(
      Type.Integer({
        minimum: 1,
        maximum: 43_200,
        description:
          'How long notifications and escalation are held back (30 days at most); null unmutes.',
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type MuteAlertRequest = Static<typeof MuteAlertRequest>;
