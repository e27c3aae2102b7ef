#!/usr/bin/env node
// `npm run bench:ingest` — the headline figure: the path devices actually use. N device
// certificates over mutual TLS → one persisted channel with access control (SenML JSON payloads of
// ~100 bytes, MQTT 5 with its content type) → one subscriber device; QoS 0 and 1; 10 and 1,000
// devices; the hub (its own process, `bulwark hub`) on SQLite and on PostgreSQL (a fresh schema per
// run, dropped afterwards). Beside it, the same load generator against our own Mosquitto with client
// certificates required from the same organization CA and `persistence true`. Then memory per idle
// mTLS connection for both. One run; every phase bounded. Run after `tsc -b`.
// Env: DEVICES (10,1000), QOS (0,1), STORES (sqlite,postgres), RATE (offered msg/s in total per cell,
// 20000), DURATION_MS (10000 per cell), WINDOW (QoS 1 in flight per device, 100, capped by the
// server's Receive Maximum), IDLE_CONNECTIONS (1000; 0 skips), DURABILITY (passed to the hub as
// --durability, when given), HUB_FLAGS (more hub flags), HUB_NODE_ARGS (Node flags for the hub,
// e.g. --cpu-prof --cpu-prof-dir=DIR), BULWARK_BENCH_DATABASE_URL
// (postgres://postgres@127.0.0.1:5432/test), MOSQUITTO=0 (skip the reference), OUT (a JSON file
// for the figures), RECORDS (SenML records per message, 2), REPEAT (runs of every cell on the same
// hub, 1: several samples of CPU per message without provisioning again).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { hubProcess } from './hub-process.mjs';
import { idleMemory, runCell } from './ingest-cell.mjs';
import { PAYLOAD_BYTES, RECORDS } from './ingest-codec.mjs';
import { hubCounters } from './ingest-metrics.mjs';
import { MOSQUITTO_SETTINGS, startMosquitto } from './ingest-mosquitto.mjs';
import { provision } from './ingest-provision.mjs';
import { printReport } from './ingest-report.mjs';
import { durabilityNote, storageReader } from './ingest-storage.mjs';
import { killChildren, onCleanup } from './mqtt-child.mjs';

const list = (v, d) =>
  (v ?? d)
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const cfg = {
  devices: list(process.env.DEVICES, '10,1000').map(Number),
  qos: list(process.env.QOS, '0,1').map(Number),
  stores: list(process.env.STORES, 'sqlite,postgres'),
  rate: Number(process.env.RATE ?? 20_000),
  durationMs: Number(process.env.DURATION_MS ?? 10_000),
  window: Number(process.env.WINDOW ?? 100),
  idle: Number(process.env.IDLE_CONNECTIONS ?? 1000),
  durability: process.env.DURABILITY ?? '',
  hubFlags: (process.env.HUB_FLAGS ?? '').split(/\s+/).filter(Boolean),
  // Node flags for the hub process, e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it.
  hubNodeArgs: (process.env.HUB_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  pgUrl: process.env.BULWARK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mosquitto: process.env.MOSQUITTO !== '0',
  records: RECORDS,
  repeat: Math.max(1, Number(process.env.REPEAT ?? 1)),
  payloadBytes: PAYLOAD_BYTES,
};
const log = (m) => console.error(`[bench:ingest] ${m}`);
const GC_PRELOAD = new URL('./gc-on-signal.mjs', import.meta.url).pathname;

// `--durability` arrives on another branch: refuse clearly here instead of a hub that will not start.
if (cfg.durability) {
  const bin = new URL('../packages/cli/bin/bulwark.js', import.meta.url).pathname;
  const help = execFileSync(process.execPath, [bin, 'hub', '--help'], { encoding: 'utf8' });
  if (!help.includes('--durability')) {
    console.error(`DURABILITY=${cfg.durability}: this hub has no --durability option (yet)`);
    process.exit(2);
  }
}

process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const tmp = mkdtempSync(join(tmpdir(), 'bulwark-bench-ingest-'));
onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
const count = Math.max(...cfg.devices, cfg.idle);
const t0 = Date.now();
const out = { config: cfg, cells: [], memory: {}, durability: {}, provisioning: {} };
out.loadAverage = { start: os.loadavg()[0] };
let reference; // the identities Mosquitto uses: the first hub's devices, same organization CA

async function withPostgresSchema(fn) {
  const schema = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const drop = `DROP SCHEMA IF EXISTS ${schema} CASCADE`;
  // Interrupted (Ctrl-C, a hard exit): best effort with psql, synchronously, from the exit hook.
  const release = onCleanup(() =>
    execFileSync('psql', [cfg.pgUrl, '-qc', drop], { stdio: 'ignore', timeout: 10_000 }),
  );
  try {
    return await fn(schema);
  } finally {
    const c = new pg.Client({ connectionString: cfg.pgUrl });
    await c.connect();
    await c.query(drop);
    await c.end();
    release();
  }
}

/** One cell; a cell that fails is reported as failed (with why) and the run goes on. */
async function cellOrFailure(devices, qos, run) {
  try {
    return await run();
  } catch (err) {
    log(`cell ${devices} devices QoS ${qos} failed: ${err.stack ?? err}`);
    return { devices, qos, failed: String(err.message ?? err) };
  }
}

async function bulwarkStore(store, schema) {
  const shared = schema ? ['--database', cfg.pgUrl, '--database-schema', schema] : [];
  const extra = [...(cfg.durability ? ['--durability', cfg.durability] : []), ...cfg.hubFlags];
  const hub = hubProcess('bulwark-bench-ingest-hub-', extra, {
    shared,
    execArgv: ['--expose-gc', '--import', GC_PRELOAD, ...cfg.hubNodeArgs],
  });
  // Interrupted: the hub (spawned by hub-process, not one of mqtt-child's) and its dir go too.
  const release = onCleanup(() => {
    if (hub.pid) process.kill(hub.pid, 'SIGKILL');
    hub.remove();
  });
  try {
    const info = await hub.start();
    const caFile = info.caFile;
    const idsFile = join(tmp, `${store}-devices.json`);
    log(`${store}: hub up (pid ${hub.pid}); provisioning ${count} devices + 1 subscriber…`);
    const prov = await provision({
      url: info.url,
      ca: readFileSync(caFile, 'utf8'),
      apiKey: hub.apiKey,
      count,
      file: idsFile,
    });
    log(`${store}: provisioned in ${(prov.ms / 1000).toFixed(1)} s`);
    out.provisioning[store] = prov.ms;
    reference ??= { idsFile, subscriber: prov.subscriber, chain: prov.chain, hubCa: caFile };
    const where = schema ? { url: cfg.pgUrl, schema } : { file: join(hub.dir, 'bulwark.db') };
    const reader = storageReader(store, where);
    const counters = hubCounters({ url: info.url, ca: readFileSync(caFile), apiKey: hub.apiKey });
    out.durability[store] = await durabilityNote(store, where, cfg.durability);
    // Idle memory first, while the hub's heap is not yet grown by the load.
    if (cfg.idle > 0 && !out.memory.bulwark) {
      const m = await idleMemory({
        pid: hub.pid,
        gc: true,
        port: info.mqttPort,
        caFile,
        idsFile,
        count: cfg.idle,
      });
      out.memory.bulwark = { store, ...m };
      log(`${store}: idle memory ${JSON.stringify(m)}`);
    }
    for (let rep = 0; rep < cfg.repeat; rep++)
      for (const devices of cfg.devices)
        for (const qos of cfg.qos) {
          const r = await cellOrFailure(devices, qos, () =>
            runCell({
              ...cfg,
              port: info.mqttPort,
              caFile,
              idsFile,
              identity: prov.subscriber,
              channelId: prov.channelId,
              subtopic: `d${devices}q${qos}${rep > 0 ? `r${rep}` : ''}`,
              devices,
              qos,
              reader,
              counters,
              pid: hub.pid,
            }),
          );
          out.cells.push({ broker: 'bulwark', store, ...r });
          log(`${store} ${devices} devices QoS ${qos}: ${JSON.stringify(r)}`);
        }
  } finally {
    await hub.stop();
    hub.remove();
    release();
  }
}

async function mosquittoReference() {
  const m = await startMosquitto(reference.chain);
  try {
    // Clients trust Mosquitto's throwaway server CA; they present the hub-issued certificates.
    const caFile = join(tmp, 'mosquitto-client-ca.pem');
    writeFileSync(caFile, m.clientCa);
    out.durability.mosquitto = MOSQUITTO_SETTINGS;
    if (cfg.idle > 0) {
      const mem = await idleMemory({
        pid: m.pid,
        gc: false,
        port: m.port,
        caFile,
        idsFile: reference.idsFile,
        count: cfg.idle,
      });
      out.memory.mosquitto = mem;
      log(`mosquitto: idle memory ${JSON.stringify(mem)}`);
    }
    for (const devices of cfg.devices)
      for (const qos of cfg.qos) {
        const r = await cellOrFailure(devices, qos, () =>
          runCell({
            ...cfg,
            port: m.port,
            caFile,
            idsFile: reference.idsFile,
            identity: reference.subscriber,
            channelId: 'mosquitto',
            subtopic: `d${devices}q${qos}`,
            devices,
            qos,
            reader: null,
            pid: m.pid,
          }),
        );
        out.cells.push({ broker: 'mosquitto', store: null, ...r });
        log(`mosquitto ${devices} devices QoS ${qos}: ${JSON.stringify(r)}`);
      }
  } finally {
    await m.stop();
  }
}

try {
  for (const store of cfg.stores) {
    if (store === 'postgres') await withPostgresSchema((schema) => bulwarkStore(store, schema));
    else if (store === 'sqlite') await bulwarkStore(store, null);
    else throw new Error(`STORES: unknown store ${store} (sqlite, postgres)`);
  }
  if (cfg.mosquitto && reference) await mosquittoReference();
} catch (e) {
  console.error(`bench:ingest failed: ${e.stack ?? e}`);
  process.exit(1);
}
out.totalMs = Date.now() - t0;
out.loadAverage.end = os.loadavg()[0];
printReport(out);
if (process.env.OUT) writeFileSync(process.env.OUT, JSON.stringify(out, null, 2));
process.exit(0);
