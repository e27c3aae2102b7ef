import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, PageQuery, Timestamp } from './common.js';

export const AuditEventSchema = Type.Object(
  {
    seq: Type.Integer(),
    id: Id,
    at: Timestamp,
    actorType: Type.String(),
    actorId: Nullable(Type.String()),
    action: Type.String(),
    targetType: Nullable(Type.String()),
    targetId: Nullable(Type.String()),
    source: Nullable(Type.String()),
    result: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
    detail: Nullable(Type.Record(Type.String(), Type.Unknown())),
    hash: Type.String(),
  },
  { additionalProperties: false },
);
export type AuditEventView = Static<typeof AuditEventSchema>;

export const AuditQuery = Type.Object(
  {
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    actor: Type.Optional(Type.String({ maxLength: 100 })),
    target: Type.Optional(Type.String({ maxLength: 100 })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

/**
 * The audit hash chain's verification (decision 0016), walked by the hub over every row of every
 * organization: intact or not, and where it first breaks. The answer is cached for a minute per
 * hub node (walking the chain reads every row). The id of a bad row is not given (it may be
 * another organization's).
 */
export const AuditVerificationSchema = Type.Object(
  {
    ok: Type.Boolean(),
    /** The last row of the chain (ok), or the first row that does not fit (broken). */
    seq: Type.Integer({ minimum: 0 }),
    /** The first row sealed with the keyed hash (ok only). */
    keyedFrom: Nullable(Type.Integer({ minimum: 0 })),
    reason: Nullable(Type.String()),
    checkedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type AuditVerificationView = Static<typeof AuditVerificationSchema>;
