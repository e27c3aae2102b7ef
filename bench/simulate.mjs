#!/usr/bin/env node
// `npm run bench:simulate`: the device simulator's ceiling and a fleet's reconnect after a hub
// restart. A hub runs in its own process on a temp data dir; this process runs DEVICES simulated
// agents (real Agent code, MemoryFiles, synthetic metrics) and measures:
//   - register + enroll + connect time, RSS and CPU of the simulator at rest;
//   - the time from the restarted hub listening until every device is connected again;
//   - reference, same run: as many bare MQTT.js mTLS clients with the same certificates connecting
//     all at once (no backoff: the stampede the agents' jitter avoids), and their CPU at rest.
// Run after `tsc -b` (the npm script passes --expose-gc so the RSS figures are taken after a GC). Env: DEVICES (default 1000), IDLE_MS (5000), BACKOFF_MIN_MS (1000),
// BACKOFF_MAX_MS (30000), HUB_FLAGS.
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { Simulator } from '../packages/agent/dist/src/sim/simulator.js';
import { hubProcess } from './hub-process.mjs';

const DEVICES = Number(process.env.DEVICES ?? 1000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 5000);
const BACKOFF_MIN_MS = Number(process.env.BACKOFF_MIN_MS ?? 1000);
const BACKOFF_MAX_MS = Number(process.env.BACKOFF_MAX_MS ?? 30_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (b) => Math.round(b / 1048576);

// HUB_FLAGS: extra hub flags, e.g. "--mqtt-handshakes 100000" to compare without the FIFO gate.
const hub = hubProcess(
  'bulwark-bench-sim-',
  (process.env.HUB_FLAGS ?? '').split(' ').filter(Boolean),
);
const apiKey = hub.apiKey;
const startHub = (httpPort, mqttPort) => hub.start(httpPort, mqttPort);
const stopHub = () => hub.stop();

function cpuPercent(fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return fn().then(() => {
    const c = process.cpuUsage(c0);
    const ns = Number(process.hrtime.bigint() - t0);
    return Math.round((((c.user + c.system) * 1000 * 100) / ns) * 10) / 10;
  });
}

let sim;
try {
  let info = await startHub();
  const ca = readFileSync(info.caFile, 'utf8');
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;

  sim = new Simulator({
    hubUrl: info.url,
    mqttUrl: `mqtts://127.0.0.1:${info.mqttPort}`,
    ca,
    apiKey,
    devices: DEVICES,
    backoffMinMs: BACKOFF_MIN_MS,
    backoffMaxMs: BACKOFF_MAX_MS,
  });
  const t0 = Date.now();
  await sim.start();
  const tRegistered = Date.now();
  await sim.waitConnected(DEVICES, 600_000);
  const tConnected = Date.now();
  const idleCpu = await cpuPercent(() => sleep(IDLE_MS));
  globalThis.gc?.();
  const rssAgents = process.memoryUsage().rss;

  // Hub restart on the same data dir and ports.
  const httpPort = info.httpPort;
  const mqttPort = info.mqttPort;
  const tStop = Date.now();
  await stopHub();
  await sim.waitConnected(0, 1).catch(() => undefined);
  const until = Date.now() + 30_000;
  while (sim.connected() > 0 && Date.now() < until) await sleep(20);
  const lostAll = sim.connected() === 0;
  const before = sim.handshakes();
  info = await startHub(httpPort, mqttPort);
  const tReady = Date.now();
  await sim.waitConnected(DEVICES, 600_000);
  const reconnectMs = Date.now() - tReady;
  const after = sim.handshakes();
  const reconnects = after.connects - before.connects;
  const resumedAfter = after.resumed - before.resumed;
  const downMs = tReady - tStop;

  // Reference: bare MQTT.js mTLS clients with the same identities, all at once.
  const ids = sim.devices.map((d) => d.agent.identity);
  await sim.stop();
  sim = undefined;
  globalThis.gc?.();
  await sleep(500);
  const tb = Date.now();
  const clients = await Promise.all(
    ids.map(
      (m) =>
        new Promise((resolve) => {
          const c = mqtt.connect(`mqtts://127.0.0.1:${info.mqttPort}`, {
            clientId: m.deviceId,
            protocolVersion: 5,
            key: m.keyPem,
            cert: m.certPem + m.chain[0],
            ca: [ca, m.hubCa],
            reconnectPeriod: 0,
            connectTimeout: 60_000,
          });
          c.once('connect', () => resolve(c));
          // A stampede may be refused or reset by the hub: counted, not fatal.
          c.once('error', () => {
            c.end(true);
            resolve(undefined);
          });
        }),
    ),
  );
  const bareConnectMs = Date.now() - tb;
  const bareCpu = await cpuPercent(() => sleep(IDLE_MS));
  const bareFailed = clients.filter((c) => c === undefined).length;
  await Promise.all(clients.filter(Boolean).map((c) => new Promise((r) => c.end(true, {}, r))));

  const agentConnectMs = tConnected - tRegistered;
  const perAgentKiB = Math.round((rssAgents - rss0) / DEVICES / 1024);
  console.log(`simulated devices: ${DEVICES} (one process; hub in its own process)`);
  console.log(`  register + enroll: ${((tRegistered - t0) / 1000).toFixed(1)} s`);
  console.log(
    `  all connected ${((tConnected - t0) / 1000).toFixed(1)} s after the start (the last ${(agentConnectMs / 1000).toFixed(1)} s after the last enrollment)`,
  );
  console.log(
    `  simulator RSS: ${mib(rssAgents)} MiB, ~${perAgentKiB} KiB per device (RSS growth over the empty process / devices)`,
  );
  console.log(
    `  simulator CPU at rest: ${idleCpu}% of one core   reference (bare clients at rest): ${bareCpu}%`,
  );
  console.log(
    `  hub restart: down ${(downMs / 1000).toFixed(1)} s (all devices saw the loss: ${lostAll}); all ${DEVICES} reconnected ${(reconnectMs / 1000).toFixed(1)} s after the hub was listening again (full-jitter backoff ${BACKOFF_MIN_MS}–${BACKOFF_MAX_MS} ms)`,
  );
  console.log(
    `    ${reconnects} connections after the restart, ${resumedAfter} of them resumed TLS sessions (shared ticket keys, decision 0022)`,
  );
  console.log(
    `    reference: ${DEVICES} bare MQTT.js mTLS clients connecting all at once (no backoff: the stampede the jitter avoids): ${(bareConnectMs / 1000).toFixed(1)} s, ${bareFailed} refused or reset   ratio ${(reconnectMs / Math.max(1, bareConnectMs)).toFixed(2)}`,
  );
} finally {
  await sim?.stop().catch(() => undefined);
  await hub.stop();
  hub.remove();
}
