/**
 * A device's health over time (issue 15 item 3, decision 0038 third amendment of 2026-12-07;
 * migration 27): every metrics report the hub keeps, as a few small numbers, queried in time
 * buckets and pruned by age.
 */

import type { HealthSeriesName } from '@bulwark/protocol';

/** A series of the history (protocol's HEALTH_SERIES). */
export type HealthSeries = HealthSeriesName;

/** One stored report: when the hub received it and its values (null: not reported). */
export interface MetricsSample {
  deviceId: string;
  /** The hub's receive time (epoch ms): a device's own clock cannot place a sample. */
  at: number;
  /** CPU use, memory and disk used, in tenths of a percent. */
  cpu: number | null;
  memory: number | null;
  disk: number | null;
  /** Open network connections. */
  connections: number | null;
}

/** avg/min/max of one series in one bucket (null when no sample had it). */
export interface SeriesStats {
  avg: number | null;
  min: number | null;
  max: number | null;
}

/** One time bucket of a device's samples. */
export interface MetricsBucket {
  /** The bucket's start (epoch ms): `from + k × bucketMs`. */
  start: number;
  /** Samples in it. */
  count: number;
  series: Record<HealthSeries, SeriesStats>;
}

/** The stored samples of every device. */
export interface MetricsHistoryStore {
  /** Stores samples (one statement per call; a sample at an already stored ms is dropped). */
  append(samples: readonly MetricsSample[]): Promise<void>;
  /**
   * The device's samples with `from <= at < to` in buckets of `bucketMs` starting at `from`,
   * only the buckets that have samples, in time order. Another organization's device has none.
   */
  buckets(
    orgId: string,
    deviceId: string,
    from: number,
    to: number,
    bucketMs: number,
  ): Promise<MetricsBucket[]>;
  /**
   * Retention, a page of devices at a time: deletes the samples older than `before` of up to
   * `devices` devices with ids after `afterId` (id order; null: from the first). Returns how many
   * samples went and the last device id of the page (null when the walk is done).
   */
  prune(
    before: number,
    afterId: string | null,
    devices: number,
  ): Promise<{ deleted: number; lastId: string | null }>;
}
