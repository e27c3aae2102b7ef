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
