#!/usr/bin/env node
// `npm run bench:write-path`: envelopes through the BatchWriter into storage, in this process — the
// write path alone (no protocol, no TLS). For each store (SQLite file in a temp dir, PostgreSQL on
// BULWARK_TEST_DATABASE_URL or 127.0.0.1:5432/test) and durability (normal, full):
//   - the reference: the store's own ceiling, one loop appending prebuilt 1,000-envelope batches;
//   - WRITERS closed-loop writers (default 10 and 1000), each writing a SenML envelope and waiting
//     for its commit before the next, for SECONDS each (and at most 2,000,000 writes).
// Printed: envelopes/s and SenML records/s committed, the batches' mean size, write latency
// (write → commit) p50/p99, refusals, and the ratio to the ceiling and to the issue 12 goal.
// Env: SECONDS (default 5), WRITERS (default "10,1000"), RECORDS per envelope (default 1),
// CHANNELS the writers spread over (default 1), STORES (default "sqlite,postgres"),
// DURABILITY (default "normal,full"). Run after `tsc -b`.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BatchWriter, DEFAULT_WRITER_OPTIONS, newId } from '../packages/core/dist/src/index.js';
import { openSqliteStorage } from '../packages/store-sqlite/dist/src/index.js';
import { openPostgresStorage } from '../packages/store-postgres/dist/src/index.js';

const SECONDS = Number(process.env.SECONDS ?? 5);
const WRITERS = (process.env.WRITERS ?? '10,1000').split(',').map(Number);
const RECORDS = Number(process.env.RECORDS ?? 1);
const CHANNELS = Number(process.env.CHANNELS ?? 1);
const STORES = (process.env.STORES ?? 'sqlite,postgres').split(',');
const DURABILITY = (process.env.DURABILITY ?? 'normal,full').split(',');
const MAX_WRITES = 2_000_000;
const PG_URL = process.env.BULWARK_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
// Issue 12's goals, in SenML records per second on this 2-core machine.
const GOAL = { sqlite: 50_000, postgres: 20_000 };

const orgId = newId();
const channelIds = Array.from({ length: CHANNELS }, () => newId());
const publishers = Array.from({ length: 1000 }, () => newId());

/** A SenML envelope as MessagingService.ingest makes it: RECORDS resolved records. */
function envelope(writer, n) {
  const now = Date.now();
  const senml = Array.from({ length: RECORDS }, (_, i) => ({
    n: `urn:dev:${writer}:sensor${i}`,
    u: 'Cel',
    v: 20 + (n % 100) / 10,
    t: now / 1000,
  }));
  return {
    id: newId(now),
    orgId,
    channelId: channelIds[writer % CHANNELS],
    subtopic: '',
    publisher: { type: 'device', id: publishers[writer % publishers.length] },
    protocol: 'mqtt',
    contentType: 'application/senml+json',
    receivedAt: now,
    payload: new TextEncoder().encode(JSON.stringify(senml.map(({ n, u, v }) => ({ n, u, v })))),
    senml,
    origin: 'bench',
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/** Opens a fresh store; returns it with a cleanup. */
async function open(kind, durability) {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-write-'));
    const storage = await openSqliteStorage({ path: join(dir, 'bench.db'), durability });
    return { storage, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `bench_write_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
  const storage = await openPostgresStorage({ url: PG_URL, schema, durability });
  return {
    storage,
    async cleanup() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}

/** The reference: one loop appending prebuilt 1,000-envelope batches for SECONDS / 2. */
async function ceiling(storage) {
  const batch = () => Array.from({ length: 1000 }, (_, i) => envelope(i, i));
  const end = performance.now() + (SECONDS * 1000) / 2;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end && n < MAX_WRITES) {
    await storage.messages.appendBatch(batch());
    n += 1000;
  }
  const cpu = process.cpuUsage(c0);
  return { perSecond: n / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / n };
}

/** WRITERS closed-loop writers through one BatchWriter for SECONDS. */
async function run(storage, writers) {
  const batches = [];
  const w = new BatchWriter(storage.messages, DEFAULT_WRITER_OPTIONS, (b) => batches.push(b.rows));
  const latencies = new Float64Array(MAX_WRITES);
  let done = 0;
  let refused = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  const loop = async (k) => {
    for (let n = 0; performance.now() < end && done < MAX_WRITES; n++) {
      const start = performance.now();
      try {
        await w.write(envelope(k, n));
        latencies[done++] = performance.now() - start;
      } catch (err) {
        if (err?.code !== 'quota_exceeded') throw err;
        refused++;
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, k) => loop(k)));
  await w.close();
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const sorted = latencies.subarray(0, done).sort();
  return {
    perSecond: done / secs,
    meanBatch: batches.length === 0 ? 0 : batches.reduce((a, b) => a + b, 0) / batches.length,
    p50: pct(sorted, 0.5),
    p99: pct(sorted, 0.99),
    refused,
    // This process's CPU (writer, driver and, for SQLite, the database itself) per envelope.
    cpuUs: done === 0 ? 0 : (cpu.user + cpu.system) / done,
  };
}

const rows = [];
for (const kind of STORES) {
  for (const durability of DURABILITY) {
    let opened;
    try {
      opened = await open(kind, durability);
    } catch (err) {
      console.error(`${kind}: cannot open (${err.message}); skipped`);
      continue;
    }
    try {
      // Warm up (connections, the SQLite writer thread) outside the timed runs.
      await opened.storage.messages.appendBatch([envelope(0, 0)]);
      const c = await ceiling(opened.storage);
      const ref = c.perSecond;
      rows.push({ kind, durability, writers: 'ceiling (1000-row batches, one loop)', ...c });
      for (const writers of WRITERS) {
        const r = await run(opened.storage, writers);
        rows.push({ kind, durability, writers, ...r, ref });
        process.stderr.write(`${kind} ${durability} ${writers} writers done\n`);
      }
    } finally {
      await opened.storage.close();
      await opened.cleanup();
    }
  }
}

const f = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `\nBatchWriter → storage, ${RECORDS} SenML record(s) per envelope, ${CHANNELS} channel(s), ` +
    `${SECONDS} s per case, one run on this machine (${new Date().toISOString()})\n`,
);
console.log(
  '| store | durability | writers | envelopes/s | records/s | mean batch | p50 ms | p99 ms | refused | CPU µs/envelope | × ceiling | × goal |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const records = r.perSecond * RECORDS;
  const goal = (records / GOAL[r.kind]).toFixed(2);
  if (r.ref === undefined) {
    console.log(
      `| ${r.kind} | ${r.durability} | ${r.writers} | ${f(r.perSecond)} | ${f(records)} | 1000 | | | | ${r.cpuUs.toFixed(1)} | 1.00 | ${goal} |`,
    );
    continue;
  }
  console.log(
    `| ${r.kind} | ${r.durability} | ${r.writers} | ${f(r.perSecond)} | ${f(records)} | ` +
      `${r.meanBatch.toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.refused} | ${r.cpuUs.toFixed(1)} | ` +
      `${(r.perSecond / r.ref).toFixed(2)} | ${goal} |`,
  );
}
console.log(
  `\nGoals (issue 12): ${f(GOAL.sqlite)} records/s on SQLite, ${f(GOAL.postgres)} on PostgreSQL. ` +
    `CPU µs/envelope is this process only (PostgreSQL's own work is not in it); on a shared, ` +
    `loaded machine it says more than the rates do. Load average now: ${loadavg()[0].toFixed(1)}.`,
);
