/**
 * Devices' health history (migration 27, decision 0038 third amendment of 2026-12-07): one small
 * row per kept metrics report, keyed by (device, time) so a device's range is one index range
 * and retention deletes device by device along the same key (no second index to keep up).
 */
import type { HealthSeries, MetricsBucket, MetricsHistoryStore, SeriesStats } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';

/**
 * The `device_metrics` table. `int`: BIGINT / INTEGER; `small`: SMALLINT / INTEGER (SQLite stores
 * small integers in 1–2 bytes whatever the declared type); `tail`: `WITHOUT ROWID` on SQLite (the
 * key is the table: one b-tree, ~50 bytes a row).
 */
export function metricsHistorySchema(t: {
  int: string;
  small: string;
  idText: string;
  tail: string;
}): string {
  const { int, small, idText, tail } = t;
  return `
CREATE TABLE device_metrics (
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  at ${int} NOT NULL,
  cpu ${small},
  memory ${small},
  disk ${small},
  connections ${int},
  PRIMARY KEY (device_id, at)
)${tail};
`;
}

const SERIES: readonly HealthSeries[] = ['cpu', 'memory', 'disk', 'connections'];

type Row = { b: number | string; n: number | string } & Record<string, number | string | null>;

const num = (v: number | string | null | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);

/** The history on a dialect's runner (the same statements in SQLite and PostgreSQL). */
export function createMetricsHistoryStore(db: SqlRunner): MetricsHistoryStore {
  const stats = SERIES.map(
    (s) => `avg(${s}) AS ${s}_avg, min(${s}) AS ${s}_min, max(${s}) AS ${s}_max`,
  ).join(', ');
  return {
    async append(samples) {
      if (samples.length === 0) return;
      const values: unknown[] = [];
      for (const s of samples)
        values.push(s.deviceId, s.at, s.cpu, s.memory, s.disk, s.connections);
      // One statement per batch (≤ 500 rows, 3,000 parameters: inside both drivers' limits).
      // Two reports in the same millisecond (two hub nodes): the first stays.
      await db.run(
        `INSERT INTO device_metrics (device_id, at, cpu, memory, disk, connections)
         VALUES ${samples.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (device_id, at) DO NOTHING`,
        values,
      );
    },
    async buckets(orgId, deviceId, from, to, bucketMs) {
      // The device is looked up in the organization: another organization's id matches nothing.
      // CAST: SQLite divides REAL binds as reals; the truncation is a floor (at >= from).
      const rows = await db.all<Row>(
        `SELECT CAST((at - ?) / ? AS INTEGER) AS b, count(*) AS n, ${stats}
         FROM device_metrics
         WHERE device_id = (SELECT id FROM devices WHERE id = ? AND org_id = ?)
           AND at >= ? AND at < ?
         GROUP BY b ORDER BY b`,
        [from, bucketMs, deviceId, orgId, from, to],
      );
      return rows.map((r): MetricsBucket => {
        const series = {} as Record<HealthSeries, SeriesStats>;
        for (const s of SERIES)
          series[s] = {
            avg: num(r[`${s}_avg`]),
            min: num(r[`${s}_min`]),
            max: num(r[`${s}_max`]),
          };
        return { start: from + Number(r.b) * bucketMs, count: Number(r.n), series };
      });
    },
    async prune(before, afterId, devices) {
      const page = await db.all<{ id: string }>(
        `SELECT id FROM devices ${afterId === null ? '' : 'WHERE id > ?'} ORDER BY id LIMIT ?`,
        afterId === null ? [devices] : [afterId, devices],
      );
      if (page.length === 0) return { deleted: 0, lastId: null };
      // One key range per device (device_id, at < before): no scan of the table.
      const deleted = await db.run(
        `DELETE FROM device_metrics WHERE device_id IN (${page.map(() => '?').join(', ')})
         AND at < ?`,
        [...page.map((d) => d.id), before],
      );
      return {
        deleted,
        lastId: page.length < devices ? null : page[page.length - 1]!.id,
      };
    },
  };
}
