/**
 * A device's health history (`GET /devices/:id/metrics/history`, issue 15 item 3, decision 0038
 * third amendment of 2026-12-07): the metrics reports the hub kept, in time buckets with the
 * average, least and greatest value of each series.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';

/** The series of the history: CPU, memory and disk use in percent, open connections. */
export const HEALTH_SERIES = ['cpu', 'memory', 'disk', 'connections'] as const;
export type HealthSeriesName = (typeof HEALTH_SERIES)[number];

/** The most buckets one answer holds (a week in 10-minute buckets is 1,008). */
export const MAX_HISTORY_BUCKETS = 1100;

export const MetricsHistoryQuery = Type.Object(
  {
    from: Type.Optional(Type.Union([Timestamp], { description: 'Default: an hour before `to`.' })),
    to: Type.Optional(Type.Union([Timestamp], { description: 'Default: now.' })),
    bucket: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,5}(s|m|h|d)$',
        description:
          'Bucket width, e.g. 1m, 10m, 1h (at least 10s). Default: the range in about 60 buckets.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MetricsHistoryQuery = Static<typeof MetricsHistoryQuery>;

const Stats = Type.Object(
  { avg: Nullable(Type.Number()), min: Nullable(Type.Number()), max: Nullable(Type.Number()) },
  { additionalProperties: false },
);

export const MetricsBucketSchema = Type.Object(
  {
    start: Timestamp,
    count: Type.Integer({ minimum: 1, description: 'Reports in the bucket.' }),
    cpu: Stats,
    memory: Stats,
    disk: Stats,
    connections: Stats,
  },
  { additionalProperties: false },
);
export type MetricsBucketView = Static<typeof MetricsBucketSchema>;

export const MetricsHistorySchema = Type.Object(
  {
    deviceId: Id,
    from: Timestamp,
    to: Timestamp,
    bucketSeconds: Type.Integer({ minimum: 1 }),
    /** Buckets that hold reports, in time order (an empty bucket is left out: a gap). */
    buckets: Type.Array(MetricsBucketSchema),
  },
  { additionalProperties: false },
);
export type MetricsHistoryView = Static<typeof MetricsHistorySchema>;
