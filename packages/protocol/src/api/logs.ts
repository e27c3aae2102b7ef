/**
 * Central device logs (decision 0032): what `GET /devices/{id}/logs` and its follow form answer.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LOG_LEVELS } from '../device-logs.js';
import { Id, Nullable, PageQuery, Timestamp } from './common.js';

export const LogLevelSchema = Type.Union(
  LOG_LEVELS.map((l) => Type.Literal(l)),
  { description: 'A syslog severity; as a filter: this level and every more severe one.' },
);

/** One stored log record. */
export const DeviceLogSchema = Type.Object(
  {
    id: Id,
    deviceId: Id,
    /** When the device logged it (its clock). */
    ts: Timestamp,
    /** When the hub stored it. */
    receivedAt: Timestamp,
    level: LogLevelSchema,
    source: Type.String(),
    message: Type.String(),
    fields: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  },
  { additionalProperties: false },
);
export type DeviceLogView = Static<typeof DeviceLogSchema>;

/** The filters a listing and a follow share. */
const LogFilters = {
  level: Type.Optional(LogLevelSchema),
  source: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Only records of this source.' }),
  ),
  grep: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Only records whose message contains this text (case-insensitive), or matches it as a regular expression with `regex=true` (linear-time subset: no back-references or look-arounds; case-sensitive).',
    }),
  ),
  regex: Type.Optional(Type.Boolean({ description: 'Treat `grep` as a regular expression.' })),
};

export const DeviceLogListQuery = Type.Object(
  {
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    ...LogFilters,
    order: Type.Optional(
      Type.Union([Type.Literal('newest'), Type.Literal('oldest')], {
        description: 'By arrival at the hub: newest first (default) or oldest first.',
      }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type DeviceLogListQuery = Static<typeof DeviceLogListQuery>;

export const DeviceLogFollowQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Union([Id], {
        description:
          'Records stored after this one (the `id` of the last record seen, or `last` of the previous answer); without it, from now on.',
      }),
    ),
    wait: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 30,
        default: 25,
        description: 'Seconds to wait for a new record before answering with none.',
      }),
    ),
    ...LogFilters,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);
export type DeviceLogFollowQuery = Static<typeof DeviceLogFollowQuery>;

/** New records, oldest first, and where to continue from. */
export const DeviceLogFollowSchema = Type.Object(
  {
    items: Type.Array(DeviceLogSchema),
    /** Pass as `after` in the next request (null: the device has no records yet). */
    last: Nullable(Id),
  },
  { additionalProperties: false },
);
export type DeviceLogFollowView = Static<typeof DeviceLogFollowSchema>;
