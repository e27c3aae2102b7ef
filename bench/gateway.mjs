#!/usr/bin/env node
// `npm run bench:gateway` (issue 16): a gateway relaying a site's devices to the hub.
// A hub (`bulwark hub`, its own process, SQLite, defaults) and a gateway (the agent + `Gateway`,
// as `bulwark gateway` runs them, in this process so its queue can be watched); DEVICES site
// devices, each with its own certificate from the organization's CA, connect to the gateway's
// local TLS broker (the load child, bench/ingest-load.mjs: MQTT 5, QoS 1, open loop) and publish
// SenML to one channel. The gateway acknowledges a message once it is durable in its queue
// (SQLite, synchronous=FULL) and forwards batches over its one mutual-TLS link.
//  1. Throughput: RATE msg/s offered for DURATION_MS; messages acknowledged by the gateway per
//     second, stored at the hub per second (rows counted in the hub's database while it drains),
//     acknowledged but never stored (goal 0).
//  2. Outage: LIVE_RATE msg/s for the whole phase; the hub is stopped after 10 s and started again
//     on the same ports OUTAGE_SECONDS later; the gateway's backlog at the restart, how long it
//     took to drain while live traffic kept flowing, publishes the gateway refused (0x97) and
//     acknowledged-but-not-stored at the end (goal 0). SKIP_OUTAGE=1 skips it.
// Env: DEVICES (1000), RATE (20000), DURATION_MS (10000), WINDOW (50), LIVE_RATE (2000),
//      OUTAGE_SECONDS (60). One run; every phase bounded; loopback only. Run after `tsc -b`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, DirFiles, SyntheticSystem } from '../packages/agent/dist/src/index.js';
import { Gateway, parseGatewayConfig } from '../packages/gateway/dist/src/index.js';
import { createClient } from '../packages/sdk/dist/src/index.js';
import { httpsFetch } from '../packages/agent/dist/src/runtime/https-fetch.js';
import { hubProcess } from './hub-process.mjs';
import { ackedMissing } from './ingest-cell.mjs';
import { provision } from './ingest-provision.mjs';
import { selfSignedCert } from './self-signed.mjs';
import { storageReader } from './ingest-storage.mjs';
import { child, killChildren, onCleanup } from './mqtt-child.mjs';

const cfg = {
  devices: Number(process.env.DEVICES ?? 1000),
  rate: Number(process.env.RATE ?? 20_000),
  durationMs: Number(process.env.DURATION_MS ?? 10_000),
  window: Number(process.env.WINDOW ?? 50),
  liveRate: Number(process.env.LIVE_RATE ?? 2000),
  outageSeconds: Number(process.env.OUTAGE_SECONDS ?? 60),
  skipOutage: process.env.SKIP_OUTAGE === '1',
};
const log = (m) => console.error(`[bench:gateway] ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n) => Math.round(n).toLocaleString('en-US');

process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const tmp = mkdtempSync(join(tmpdir(), 'bulwark-bench-gateway-'));
onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
const load0 = os.loadavg()[0];
const t0 = Date.now();

const hub = hubProcess('bulwark-bench-gw-hub-');
onCleanup(() => {
  if (hub.pid) process.kill(hub.pid, 'SIGKILL');
  hub.remove();
});
const info = await hub.start();
const ca = readFileSync(info.caFile, 'utf8');
const api = createClient({ baseUrl: info.url, token: hub.apiKey, fetch: httpsFetch({ ca }) });
const site = await api.call('createLocation', { body: { name: 'bench-site', kind: 'site' } });
const idsFile = join(tmp, 'devices.json');
log(`hub up (pid ${hub.pid}); provisioning ${cfg.devices} site devices…`);
const prov = await provision({
  url: info.url,
  ca,
  apiKey: hub.apiKey,
  count: cfg.devices,
  file: idsFile,
  prefix: 'site',
  locationId: site.id,
});
log(`provisioned in ${(prov.ms / 1000).toFixed(1)} s`);

// The gateway: a device of type gateway in the site, enrolled with its own key on first start.
const gwDevice = await api.devices.create({
  name: 'bench-gateway',
  type: 'gateway',
  locationId: site.id,
});
const { token } = await api.devices.createEnrollmentToken(gwDevice.id, {});
const { certFile: brokerCert, keyFile: brokerKey } = selfSignedCert(tmp, { name: 'broker' });
const gwConfig = parseGatewayConfig({
  hubUrl: info.url,
  mqttUrl: `mqtts://127.0.0.1:${info.mqttPort}`,
  caFile: info.caFile,
  stateDir: join(tmp, 'gateway-state'),
  enrollment: { token },
  connection: { backoffMinMs: 100, backoffMaxMs: 1000 },
  gateway: {
    broker: { host: '127.0.0.1', port: 0, certFile: brokerCert, keyFile: brokerKey },
    inventory: { enabled: false },
  },
});
const quietLog = (level, msg) => {
  if (level === 'error') log(`gateway: ${msg}`);
};
const agent = new Agent({
  config: gwConfig.agent,
  files: await DirFiles.open(gwConfig.agent.stateDir),
  system: new SyntheticSystem(),
  log: quietLog,
});
await agent.start();
await agent.whenConnected(30_000);
const gateway = await Gateway.start(agent, gwConfig, quietLog);
for (const end = Date.now() + 30_000; gateway.status().siteDevices < cfg.devices;) {
  if (Date.now() > end) throw new Error('the gateway did not sync the site');
  await sleep(100);
}
const brokerPort = gateway.status().brokerPort;
log(`gateway up: broker 127.0.0.1:${brokerPort}, ${gateway.status().siteDevices} site devices`);
const reader = storageReader('sqlite', { file: join(hub.dir, 'bulwark.db') });
const channelId = prov.channelId;

/** Runs the load child at `rate` for `durationMs`; `during(elapsedMs)` is polled every 500 ms. */
async function runLoad(subtopic, rate, durationMs, during = async () => {}) {
  const epoch = Date.now();
  const load = child('ingest-load.mjs', [
    JSON.stringify({
      mode: 'flood',
      port: brokerPort,
      identities: idsFile,
      devices: cfg.devices,
      ca: brokerCert,
      topic: `channels/${channelId}/messages/${subtopic}`,
      qos: 1,
      rate,
      durationMs,
      window: cfg.window,
      epoch,
    }),
  ]);
  try {
    const ready = await load.next(180_000);
    log(`${subtopic}: ${cfg.devices} devices connected in ${(ready.openMs / 1000).toFixed(1)} s`);
    const start = Date.now();
    load.send({ cmd: 'go' });
    const result = load.next(durationMs + 60_000);
    let done = false;
    void result.finally(() => (done = true));
    while (!done) {
      await during(Date.now() - start);
      await sleep(500);
    }
    const r = await result;
    load.send({ cmd: 'close' });
    return { ...r, start };
  } finally {
    await load.stop(5000);
  }
}

/** Waits until every acknowledged message is stored or the count stops moving for 10 s. */
async function drained(subtopic, acked, maxMs = 300_000) {
  const samples = [];
  const end = Date.now() + maxMs;
  let last = -1;
  let still = Date.now();
  for (;;) {
    const n = await reader.count(channelId, subtopic);
    samples.push({ at: Date.now(), n });
    if (n !== last) still = Date.now();
    last = n;
    if (n >= acked || Date.now() - still > 10_000 || Date.now() > end) return samples;
    await sleep(250);
  }
}

// 1. Throughput.
const counts = [];
const r1 = await runLoad('throughput', cfg.rate, cfg.durationMs, async () => {
  counts.push({ at: Date.now(), n: await reader.count(channelId, 'throughput') });
});
counts.push(...(await drained('throughput', r1.ackCount)));
const first = counts.find((c) => c.n > 0);
const lastGrowth = counts.reduce((a, c) => (c.n > a.n ? c : a), counts[0]);
const stored1 = lastGrowth.n;
const storeSeconds = first ? Math.max(0.001, (lastGrowth.at - r1.start) / 1000) : NaN;
const st1 = await reader.read(channelId, 'throughput', Date.now());
const lost1 = ackedMissing(r1.acked, (p, q) => st1.seen.has(p, q)).missing;

// 2. Outage.
let outage;
if (!cfg.skipOutage) {
  const before = 10_000;
  const outageMs = cfg.outageSeconds * 1000;
  const total = before + outageMs + 90_000;
  let stoppedAt;
  let restartedAt;
  let backlogAtRestart = 0;
  let queueBefore = 0;
  let drainedAt;
  let peak = 0;
  let phase = 'before';
  const r2 = await runLoad('outage', cfg.liveRate, total, async (ms) => {
    const q = gateway.status().queue.messages;
    peak = Math.max(peak, q);
    if (phase === 'before' && ms >= before) {
      queueBefore = q;
      phase = 'stopping';
      log(`outage: stopping the hub (queue ${q})`);
      await hub.stop();
      stoppedAt = Date.now();
      phase = 'down';
    } else if (phase === 'down' && Date.now() - stoppedAt >= outageMs) {
      backlogAtRestart = q;
      log(`outage: starting the hub again (backlog ${fmt(q)})`);
      phase = 'starting';
      await hub.start(info.httpPort, info.mqttPort);
      restartedAt = Date.now();
      phase = 'up';
    } else if (
      phase === 'up' &&
      drainedAt === undefined &&
      q <= Math.max(queueBefore, cfg.liveRate)
    ) {
      drainedAt = Date.now();
      log(
        `outage: backlog drained ${((drainedAt - restartedAt) / 1000).toFixed(1)} s after the restart`,
      );
    }
  });
  await drained('outage', r2.ackCount);
  const st2 = await reader.read(channelId, 'outage', Date.now());
  outage = {
    sent: r2.sent,
    acked: r2.ackCount,
    refused: r2.refused,
    unanswered: r2.unanswered,
    backlogAtRestart,
    peak,
    drainSeconds: drainedAt && restartedAt ? (drainedAt - restartedAt) / 1000 : null,
    stored: st2.rows,
    duplicates: st2.foreign,
    lost: ackedMissing(r2.acked, (p, q) => st2.seen.has(p, q)).missing,
  };
}

await gateway.stop();
await agent.stop();
await hub.stop();

const load1 = os.loadavg()[0];
console.log(`## bench:gateway — site devices → gateway (local TLS broker, durable queue) → one mTLS uplink → hub storage

One run on ${os.cpus().length} cores, shared with other work (1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end); whole run ${((Date.now() - t0) / 1000).toFixed(0)} s. ${cfg.devices} site devices, each its own certificate, MQTT 5 QoS 1 (window ${cfg.window} per device), SenML payloads; the gateway's queue is SQLite with synchronous=FULL (a device's PUBACK means on the gateway's disk); the hub is SQLite, synchronous=NORMAL (its default).

| phase | offered/s | acked by the gateway/s | refused (0x97) | stored at the hub/s | acked, not stored |
| --- | --- | --- | --- | --- | --- |
| throughput (${cfg.durationMs / 1000} s) | ${fmt(cfg.rate)} | ${fmt(r1.ackCount / (cfg.durationMs / 1000))} | ${fmt(r1.refused)} | ${fmt(stored1 / storeSeconds)} (${fmt(stored1)} in ${storeSeconds.toFixed(1)} s from the first publish) | ${fmt(lost1)} |

Goal (issue 16): ≥ 20,000 stored messages/s from ≥ 1,000 local devices.`);
if (outage) {
  console.log(`
Outage: ${fmt(cfg.liveRate)} msg/s offered throughout; the hub stopped 10 s in for ${cfg.outageSeconds} s, then started again on the same ports.

- backlog on the gateway when the hub came back: ${fmt(outage.backlogAtRestart)} messages (peak ${fmt(outage.peak)})
- drained ${outage.drainSeconds === null ? 'NOT within the phase' : `${outage.drainSeconds.toFixed(1)} s after the restart (${fmt(outage.backlogAtRestart / Math.max(outage.drainSeconds, 0.001))} msg/s on top of live traffic)`}
- live traffic: ${fmt(outage.sent)} sent, ${fmt(outage.acked)} acknowledged by the gateway, ${fmt(outage.refused)} refused, ${fmt(outage.unanswered)} unanswered
- stored at the hub: ${fmt(outage.stored)}; acknowledged but not stored: ${fmt(outage.lost)} (goal 0); duplicate or foreign rows: ${fmt(outage.duplicates)}`);
}
process.exit(0);
