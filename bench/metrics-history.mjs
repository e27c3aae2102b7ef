// The cost of the health history (decision 0038, third amendment of 2026-12-07): 1,000 devices
// reporting every 30 s, written as the hub writes them (MetricsHistoryService: one statement per
// second of reports, ~33 rows), for one simulated hour; then the bytes a report costs on disk, a
// device's hour/day/week queries over a week of its reports, and one retention pass over the fleet.
// The clock is simulated (no waiting); the writes and queries are real, on SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MetricsHistoryService, sampleOf } from '../packages/core/dist/src/index.js';
import { openSqliteStorage } from '../packages/store-sqlite/dist/src/index.js';
import { openPostgresStorage } from '../packages/store-postgres/dist/src/index.js';
import { deviceFx, orgFx } from '../packages/testkit/dist/src/storage-contract/fixtures.js';

const PG_URL = process.env.BULWARK_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const DEVICES = 1000;
const EVERY_S = 30;
const SECONDS = 3600;
const DAY = 86_400_000;

const report = (i, t) => ({
  at: new Date(t).toISOString(),
  cpuPercent: (i * 7 + t / 1000) % 100,
  memory: { totalBytes: 4e9, availableBytes: 1e9 + (i % 10) * 1e8 },
  disk: { totalBytes: 1e11, availableBytes: 6e10 },
  uptimeSeconds: 1000,
  network: { rxBytes: 1, txBytes: 2 },
  listeningPorts: [22],
  connections: 3,
});

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(name, storage, size) {
  const org = orgFx();
  await storage.organizations.create(org);
  const ids = [];
  for (let i = 0; i < DEVICES; i++) {
    const d = deviceFx(org.id);
    await storage.devices.create(d);
    ids.push(d.id);
  }
  let now = Date.now() - 8 * DAY;
  const clock = { now: () => now };
  const svc = new MetricsHistoryService({
    store: storage.metricsHistory,
    devices: { get: async () => ({}) },
    clock,
    config: { retentionDays: 7, minIntervalSeconds: 20 },
  });
  const before = await size();
  // One simulated hour: each second, the devices whose 30 s turn it is report; the service's
  // one-second batch is flushed then (as its timer does).
  const perBatch = [];
  let rows = 0;
  const t0 = performance.now();
  for (let s = 0; s < SECONDS; s++) {
    now += 1000;
    for (let i = s % EVERY_S; i < DEVICES; i += EVERY_S) {
      svc.record(ids[i], report(i, now));
      rows++;
    }
    const b = performance.now();
    await svc.flush();
    perBatch.push(performance.now() - b);
  }
  const writeMs = performance.now() - t0;
  const bytes = (await size()) - before;
  // A week of one device's reports every 30 s (20,160), written straight to the store.
  const one = ids[0];
  const weekStart = now - 7 * DAY;
  const samples = [];
  for (let t = weekStart; t < now; t += EVERY_S * 1000)
    samples.push(sampleOf(one, t, report(0, t)));
  for (let i = 0; i < samples.length; i += 500)
    await storage.metricsHistory.append(samples.slice(i, i + 500));
  const q = async (rangeMs, bucketMs) => {
    const times = [];
    let n = 0;
    for (let k = 0; k < 5; k++) {
      const a = performance.now();
      n = (await storage.metricsHistory.buckets(org.id, one, now - rangeMs, now, bucketMs)).length;
      times.push(performance.now() - a);
    }
    return `${med(times).toFixed(1)} ms (${n} buckets)`;
  };
  const hour = await q(3_600_000, 60_000);
  const day = await q(DAY, 1_200_000);
  const week = await q(7 * DAY, 3 * 3_600_000);
  // Retention: a pass over the 1,000 devices a week later (the simulated hour is then too old).
  now += 7 * DAY + 3_600_000;
  const p = performance.now();
  const deleted = await svc.prune();
  const pruneMs = performance.now() - p;
  console.log(
    `${name.padEnd(8)} ${rows} reports in ${SECONDS} batches: ${(writeMs / SECONDS).toFixed(2)} ms a batch ` +
      `(median ${med(perBatch).toFixed(2)}), ${((writeMs / (SECONDS * 1000)) * 100).toFixed(2)} % of one core at 1,000 devices/30 s | ` +
      `${(bytes / rows).toFixed(0)} bytes a report on disk → ${(((bytes / rows) * DEVICES * (86_400 / EVERY_S) * 7) / 2 ** 30).toFixed(2)} GiB for 7 days | ` +
      `one device over a week of reports: hour ${hour}, day ${day}, week ${week} | ` +
      `retention pass over ${DEVICES} devices: ${pruneMs.toFixed(0)} ms, ${deleted} deleted`,
  );
}

console.log(
  `Health history cost: ${DEVICES} devices reporting every ${EVERY_S} s, ${SECONDS} s simulated (median of 5 for queries)`,
);
const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-history-'));
try {
  const path = join(dir, 'h.db');
  const s = await openSqliteStorage({ path });
  // The database file after a checkpoint (the WAL grows to its peak and is not a measure).
  const size = async () => {
    const db = new Database(path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const n =
      db.pragma('page_count', { simple: true }) - db.pragma('freelist_count', { simple: true });
    const page = db.pragma('page_size', { simple: true });
    db.close();
    return n * page;
  };
  await run('sqlite', s, size);
  await s.close();
  const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  if (
    await probe.connect().then(
      () => true,
      () => false,
    )
  ) {
    const schema = `bench_history_${process.pid}`;
    const ps = await openPostgresStorage({ url: PG_URL, schema, max: 4 });
    try {
      await run('postgres', ps, async () =>
        Number(
          (await probe.query(`SELECT pg_total_relation_size('${schema}.device_metrics') AS n`))
            .rows[0].n,
        ),
      );
    } finally {
      await ps.close();
      await probe.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  } else console.log('postgres not reachable: skipped');
  await probe.end().catch(() => undefined);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
