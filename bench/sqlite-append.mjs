#!/usr/bin/env node
// `node bench/sqlite-append.mjs`: the SQLite telemetry append alone (the writer thread's
// transaction, in this process), with SQLite's default connection settings and with the ones the
// store sets (INGEST_PRAGMAS, packages/store-sqlite/src/connection-tuning.ts), alternating, each on
// a fresh database file. Batches of 1,000 envelopes of RECORDS SenML records; SERIES devices each
// with their own base name, so RECORDS × SERIES series. Prints µs per record (wall, inside the
// append) per round and the median. Env: RECORDS (10), SERIES ("10,1000"), BATCHES (60), ROUNDS (3).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newId } from '../packages/core/dist/src/index.js';
import { openSqliteStorage } from '../packages/store-sqlite/dist/src/index.js';
import { INGEST_PRAGMAS } from '../packages/store-sqlite/dist/src/connection-tuning.js';
import { createAppend } from '../packages/store-sqlite/dist/src/message-append.js';

const RECORDS = Number(process.env.RECORDS ?? 10);
const SERIES = (process.env.SERIES ?? '10,1000').split(',').map(Number);
const BATCHES = Number(process.env.BATCHES ?? 60);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

async function run(devices, tuned) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sqlite-append-'));
  try {
    const file = join(dir, 'db.sqlite');
    const storage = await openSqliteStorage({ path: file, writerThread: false });
    await storage.close?.();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    if (tuned) for (const p of INGEST_PRAGMAS) db.pragma(p);
    else for (const p of ['wal_autocheckpoint = 1000', 'cache_size = -2000']) db.pragma(p);
    const append = createAppend(db);
    const orgId = newId();
    const channelId = newId();
    const publishers = Array.from({ length: devices }, () => newId());
    let ms = 0;
    for (let b = 0; b < BATCHES; b++) {
      const now = Date.now();
      const batch = Array.from({ length: 1000 }, (_, i) => {
        const senml = Array.from({ length: RECORDS }, (_, r) => ({
          n: `urn:dev:${i % devices}:s${r}`,
          u: 'Cel',
          v: 20 + ((b + i) % 100) / 10,
          t: now / 1000 + i / 1e4,
        }));
        return {
          id: newId(now),
          orgId,
          channelId,
          subtopic: '',
          publisher: { type: 'device', id: publishers[i % devices] },
          protocol: 'mqtt',
          contentType: 'application/senml+json',
          receivedAt: now,
          payload: new TextEncoder().encode(JSON.stringify(senml)),
          senml,
          origin: 'bench',
        };
      });
      const t0 = performance.now();
      append(batch);
      ms += performance.now() - t0;
    }
    db.close();
    return (ms * 1000) / (BATCHES * 1000 * RECORDS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `SQLite telemetry append, ${BATCHES} batches × 1,000 envelopes × ${RECORDS} records, synchronous=NORMAL, load average ${loadavg()[0].toFixed(1)}`,
);
console.log('| series | settings | µs/record per round | median µs/record | records/s |');
console.log('|---|---|---|---|---|');
for (const devices of SERIES) {
  const runs = { defaults: [], tuned: [] };
  for (let r = 0; r < ROUNDS; r++)
    for (const tuned of [false, true])
      runs[tuned ? 'tuned' : 'defaults'].push(await run(devices, tuned));
  for (const [k, xs] of Object.entries(runs)) {
    const m = median(xs);
    console.log(
      `| ${(devices * RECORDS).toLocaleString('en-US')} | ${k === 'tuned' ? INGEST_PRAGMAS.join(', ') : 'SQLite defaults (wal_autocheckpoint 1000, cache 2 MiB)'} | ${xs.map((x) => x.toFixed(1)).join(' / ')} | ${m.toFixed(1)} | ${Math.round(1e6 / m).toLocaleString('en-US')} |`,
    );
  }
}
