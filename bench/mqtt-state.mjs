// What keeping MQTT state costs (decision 0020), engine only (open-mode hooks, plain TCP on
// loopback, no channel store): QoS 1 publishes acknowledged per second and PUBACK latency with a
// clean subscriber (nothing stored) beside a persistent one (every message stored before its
// PUBACK), and how long a restart takes to restore sessions with queued messages. SQLite in a temp
// dir; PostgreSQL too when BULWARK_TEST_DATABASE_URL (or the local default) answers. One run,
// bounded: at most MESSAGES messages or LIMIT_MS per measurement.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import {
  createMqttEngine,
  listenTcp,
  openModeHooks,
} from '../packages/transport/dist/src/mqtt/index.js';
import { openSqliteStorage } from '../packages/store-sqlite/dist/src/index.js';
import { openPostgresStorage } from '../packages/store-postgres/dist/src/index.js';

const MESSAGES = Number(process.env.MESSAGES ?? 5000);
const LIMIT_MS = Number(process.env.LIMIT_MS ?? 10_000);
const WINDOW = 100;
const SESSIONS = Number(process.env.SESSIONS ?? 1000);
const QUEUED = 10;
const PG_URL = process.env.BULWARK_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function broker(storage) {
  const engine = createMqttEngine({
    hooks: openModeHooks(),
    limits: { maxSessions: SESSIONS + 100 },
    state: { store: storage.mqttState, node: 'bench', shared: false },
  });
  const restoreStart = performance.now();
  const restored = await engine.restore();
  const restoreMs = performance.now() - restoreStart;
  const server = await listenTcp(engine, { port: 0, host: '127.0.0.1' });
  return {
    engine,
    port: server.address().port,
    restored,
    restoreMs,
    async close() {
      await engine.close();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

const connect = (port, opts) =>
  mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0, protocolVersion: 5, ...opts });

/** QoS 1 publishes with WINDOW in flight: acknowledged per second and median PUBACK latency. */
async function load(port, persistent) {
  const sub = await connect(port, {
    clientId: persistent ? 'bench-keeper' : 'bench-clean',
    clean: !persistent,
    ...(persistent ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  await sub.subscribeAsync('bench/#', { qos: 1 });
  const pub = await connect(port, { clientId: 'bench-pub' });
  const lat = [];
  let sent = 0;
  let acked = 0;
  const t0 = performance.now();
  await new Promise((resolve) => {
    const pump = () => {
      while (sent - acked < WINDOW && sent < MESSAGES && performance.now() - t0 < LIMIT_MS) {
        const at = performance.now();
        sent++;
        pub.publish('bench/x', 'payload-of-some-bytes', { qos: 1 }, () => {
          acked++;
          lat.push(performance.now() - at);
          if (acked === sent && (sent >= MESSAGES || performance.now() - t0 >= LIMIT_MS)) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const secs = (performance.now() - t0) / 1000;
  await pub.endAsync();
  await sub.endAsync();
  return { perSec: Math.round(acked / secs), p50: median(lat).toFixed(1) };
}

/** SESSIONS offline persistent sessions with QUEUED messages each, then a restart. */
async function restart(open) {
  let b = await broker(await open());
  const clients = [];
  for (let i = 0; i < SESSIONS; i++) {
    const c = await connect(b.port, {
      clientId: `s${i}`,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    await c.subscribeAsync(`r/${i}`, { qos: 1 });
    clients.push(c);
  }
  await Promise.all(clients.map((c) => c.endAsync()));
  const pub = await connect(b.port, { clientId: 'filler' });
  for (let q = 0; q < QUEUED; q++)
    await Promise.all(
      [...Array(SESSIONS).keys()].map((i) => pub.publishAsync(`r/${i}`, 'q', { qos: 1 })),
    );
  await pub.endAsync();
  await b.close();
  const storage = await open();
  b = await broker(storage);
  const r = { ...b.restored, ms: Math.round(b.restoreMs), queued: b.engine.stats().queued };
  await b.close();
  await storage.close();
  return r;
}

async function run(name, open) {
  const storage = await open();
  const b = await broker(storage);
  const clean = await load(b.port, false);
  const kept = await load(b.port, true);
  await b.close();
  await storage.close();
  const r = await restart(open);
  console.log(
    `${name.padEnd(10)} clean subscriber ${String(clean.perSec).padStart(6)}/s p50 ${clean.p50} ms | ` +
      `persistent subscriber ${String(kept.perSec).padStart(6)}/s p50 ${kept.p50} ms (ratio ${(kept.perSec / clean.perSec).toFixed(2)}) | ` +
      `restart: ${r.sessions} sessions, ${r.queued} queued messages restored in ${r.ms} ms`,
  );
}

console.log(
  `MQTT state cost, engine only (open mode, TCP loopback), QoS 1, window ${WINDOW}, up to ${MESSAGES} messages or ${LIMIT_MS} ms; restart with ${SESSIONS} sessions × ${QUEUED} queued`,
);
const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-state-'));
try {
  const path = join(dir, 'state.db');
  await run('sqlite', () => openSqliteStorage({ path }));
  const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  const reachable = await probe.connect().then(
    () => true,
    () => false,
  );
  if (reachable) {
    const schema = `bench_state_${process.pid}`;
    try {
      await run('postgres', () => openPostgresStorage({ url: PG_URL, schema, max: 4 }));
    } finally {
      await probe.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  } else console.log('postgres   not reachable: skipped');
  await probe.end().catch(() => undefined);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
