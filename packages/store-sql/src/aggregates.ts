import type { AggregateFn, Bucket } from '@bulwark/core';

/**
 * SQL of each aggregate over the bucketed points `b` (start, v, t, message_id, idx); the same text
 * in both dialects (PostgreSQL needs the subquery alias, SQLite accepts it).
 */
export const BUCKET_AGGREGATES: Readonly<Record<AggregateFn, string>> = {
  min: 'SELECT start, min(v) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  max: 'SELECT start, max(v) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  avg: 'SELECT start, avg(v) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  count: 'SELECT start, count(*) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  // The value with the greatest record time; equal times are decided by message id, then by the
  // record's position in its message.
  last: `SELECT start, v AS value, n FROM (
           SELECT start, v, count(*) OVER (PARTITION BY start) AS n,
             row_number() OVER (PARTITION BY start ORDER BY t DESC, message_id DESC, idx DESC) AS rn
           FROM b) AS ranked
         WHERE rn = 1 ORDER BY start`,
};

/** A row of a BUCKET_AGGREGATES query. */
export interface BucketRow {
  start: number;
  value: number | null;
  n: number;
}

/** A BUCKET_AGGREGATES row as its bucket. */
export const toBucket = (r: BucketRow): Bucket => ({ start: r.start, value: r.value, count: r.n });

/** The largest |epoch ms| a Date can hold (ECMA-262 §21.4.1.1); bounds are clamped to it. */
const MAX_MS = 8.64e15;
const clampMs = (ms: number): number => Math.min(Math.max(ms, -MAX_MS), MAX_MS);

/** The bind values of one aggregate's time window and bucket width. */
export interface AggregateWindow {
  /** Lower bound on `t` (seconds) for the series index: one ms wider than `from`. */
  tFrom: number;
  /** Upper bound on `t` (seconds) for the series index: one ms wider than `to`. */
  tTo: number;
  /** Bucket width in microseconds. */
  bucketUs: number;
  /** Exact lower bound on the rounded microseconds `us`. */
  usFrom: number;
  /** Exact upper bound on the rounded microseconds `us`. */
  usTo: number;
}

/**
 * The window of an aggregate over [q.from, q.to] (ms) in buckets of `bucketMs`: a slightly wider
 * range the series index can use on `t`, and the exact bounds on `us` that decide; throws a
 * RangeError for a bucket width that is not a positive whole number of ms.
 */
export function aggregateWindow(
  q: { from: number; to: number },
  bucketMs: number,
): AggregateWindow {
  const bucketUs = bucketMs * 1000;
  if (!Number.isSafeInteger(bucketUs) || bucketMs < 1) {
    throw new RangeError(`bucketMs must be a positive integer, got ${bucketMs}`);
  }
  const from = clampMs(q.from);
  const to = clampMs(q.to);
  return {
    tFrom: (from - 1) / 1000,
    tTo: (to + 1) / 1000,
    bucketUs,
    usFrom: Math.ceil(from * 1000),
    usTo: Math.floor(to * 1000),
  };
}
