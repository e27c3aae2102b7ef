import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetricsSample } from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const sample = (
  deviceId: string,
  at: number,
  cpu: number | null,
  over: Partial<MetricsSample> = {},
): MetricsSample => ({
  deviceId,
  at,
  cpu,
  memory: 500,
  disk: null,
  connections: 7,
  ...over,
});

/** MetricsHistoryStore: buckets per device in its organization, retention by age (migration 27). */
export function metricsHistorySuite(open: OpenStorage): void {
  describe('MetricsHistoryStore', () => {
    const s = useStorage(open);

    it('answers the buckets that hold samples, avg/min/max per series, nulls left out', async () => {
      const org = await seedOrg(s());
      const d = await seedDevice(s(), org.id);
      const other = await seedDevice(s(), org.id);
      await s().metricsHistory.append([
        sample(d.id, T0, 100),
        sample(d.id, T0 + 59_999, 300, { memory: 700, disk: 10, connections: 1 }),
        sample(d.id, T0 + 120_000, null),
        sample(d.id, T0 + 180_000, 999), // at `to`: outside
        sample(other.id, T0 + 1, 1000),
      ]);
      // The same millisecond again: the first stays.
      await s().metricsHistory.append([sample(d.id, T0, 0)]);
      const b = await s().metricsHistory.buckets(org.id, d.id, T0, T0 + 180_000, 60_000);
      assert.deepEqual(b, [
        {
          start: T0,
          count: 2,
          series: {
            cpu: { avg: 200, min: 100, max: 300 },
            memory: { avg: 600, min: 500, max: 700 },
            disk: { avg: 10, min: 10, max: 10 },
            connections: { avg: 4, min: 1, max: 7 },
          },
        },
        {
          start: T0 + 120_000,
          count: 1,
          series: {
            cpu: { avg: null, min: null, max: null },
            memory: { avg: 500, min: 500, max: 500 },
            disk: { avg: null, min: null, max: null },
            connections: { avg: 7, min: 7, max: 7 },
          },
        },
      ]);
      // Buckets start at `from`, not at the epoch.
      const shifted = await s().metricsHistory.buckets(
        org.id,
        d.id,
        T0 - 30_000,
        T0 + 90_000,
        60_000,
      );
      assert.deepEqual(
        shifted.map((x) => [x.start - T0, x.count]),
        [
          [-30_000, 1],
          [30_000, 1],
        ],
      );
    });

    it('another organization’s device has no history', async () => {
      const org = await seedOrg(s());
      const org2 = await seedOrg(s());
      const d = await seedDevice(s(), org.id);
      await s().metricsHistory.append([sample(d.id, T0, 100)]);
      assert.deepEqual(await s().metricsHistory.buckets(org2.id, d.id, T0, T0 + 1000, 1000), []);
      assert.equal((await s().metricsHistory.buckets(org.id, d.id, T0, T0 + 1000, 1000)).length, 1);
    });

    it('prunes samples older than the cut-off, a page of devices at a time', async () => {
      const org = await seedOrg(s());
      const a = await seedDevice(s(), org.id);
      const b = await seedDevice(s(), org.id);
      await s().metricsHistory.append([
        sample(a.id, T0, 1),
        sample(a.id, T0 + 10, 2),
        sample(b.id, T0, 3),
        sample(b.id, T0 + 20, 4),
      ]);
      let after: string | null = null;
      let pages = 0;
      do {
        const r = await s().metricsHistory.prune(T0 + 10, after, 1);
        after = r.lastId;
        pages++;
        assert.ok(pages < 10_000, 'the walk ends');
      } while (after !== null);
      const left = async (id: string) =>
        (await s().metricsHistory.buckets(org.id, id, T0, T0 + 100, 100)).map((x) => x.count);
      assert.deepEqual(await left(a.id), [1]);
      assert.deepEqual(await left(b.id), [1]);
      const sum = await s().metricsHistory.buckets(org.id, b.id, T0, T0 + 100, 100);
      assert.equal(sum[0]!.series.cpu.max, 4);
    });
  });
}
