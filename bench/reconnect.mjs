#!/usr/bin/env node
// `npm run bench:reconnect` (issue 12): how long N devices take to be back and publishing after a
// hub restart, and the hub's memory per idle mutual-TLS device connection — each beside Mosquitto
// (require_certificate, the same devices and clients) in the same run.
//
// A hub runs in its own process (SQLite, a temp data dir; N devices enrolled on the data dir
// before its first start, each with its own P-256 key and certificate: bench/reconnect-provision.mjs).
// CLIENTS child processes (bench/reconnect-client.mjs) hold N mTLS connections, WIDTH handshakes in
// flight per child: each device connects, publishes once (QoS 1) and waits for its PUBACK. Then the
// hub's RSS (after a full GC) and V8 heap are read around those N idle connections. Then the hub is
// restarted (SIGTERM, started again on the same ports); once it listens every device reconnects at
// once — offering the TLS session ticket of its last connection, as a device with a stored ticket
// does (RESUME=0: not) — and publishes once more. Printed: the time until all N are back and have
// published, from the hub listening again (and from its start), p50/p99 per device, full and
// resumed handshakes per second, "busy" refusals, the hub's CPU and the clients' CPU (the load
// generator shares the machine's two cores with the hub: its CPU is printed so one can tell).
// Bounded: each phase gives up after PHASE_MS. Loopback only.
// Env: DEVICES (1000), CLIENTS (2), WIDTH (256 handshakes in flight per client), RESUME (1),
// PHASE_MS (300000), MOSQUITTO (1: also run the reference), HUB_FLAGS (extra hub flags),
// HUB_NODE_FLAGS (extra Node flags for the hub, e.g. --cpu-prof --cpu-prof-dir=DIR).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hubProcess } from './hub-process.mjs';
import { child, killChildren } from './mqtt-child.mjs';
import { startMosquitto } from './mosquitto-mtls.mjs';
import { procStat } from './ota-serve.mjs';
import { provisionLocal } from './reconnect-provision.mjs';

const N = Number(process.env.DEVICES ?? 1000);
const CLIENTS = Number(process.env.CLIENTS ?? 2);
const WIDTH = Number(process.env.WIDTH ?? 256);
const RESUME = process.env.RESUME !== '0';
const PHASE_MS = Number(process.env.PHASE_MS ?? 300_000);
const WITH_MOSQUITTO =
  process.env.MOSQUITTO !== '0' && existsSync(process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto');
const HUB_FLAGS = (process.env.HUB_FLAGS ?? '').split(' ').filter(Boolean);
const GC_PRELOAD = new URL('./gc-on-signal.mjs', import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

/** VmRSS of a process, bytes. */
function rss(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
}

/** Median of 3 RSS samples; `gc` (the hub) runs a full GC before each (bench/gc-on-signal.mjs). */
async function memory(pid, gc) {
  const xs = [];
  for (let i = 0; i < 3; i++) {
    if (gc) process.kill(pid, 'SIGUSR2');
    await sleep(500);
    xs.push(rss(pid));
  }
  return xs.sort((a, b) => a - b)[1];
}

/** The client pool: CLIENTS children, each a slice of the devices. */
async function clientPool(port, ca, file, topic) {
  const per = Math.ceil(N / CLIENTS);
  const kids = [];
  for (let c = 0; c < CLIENTS && c * per < N; c++) {
    const k = child('reconnect-client.mjs', [
      JSON.stringify({
        port,
        ca,
        file,
        from: c * per,
        to: Math.min(N, (c + 1) * per),
        topic,
        width: WIDTH,
        resume: RESUME,
        phaseMs: PHASE_MS,
      }),
    ]);
    kids.push(k);
  }
  for (const k of kids) await k.next(60_000);
  return {
    /** Every child connects its devices; resolves the merged result. */
    async phase(name) {
      const t0 = performance.now();
      for (const k of kids) k.send({ cmd: 'connect', phase: name });
      const rs = await Promise.all(kids.map((k) => k.next(PHASE_MS + 60_000)));
      const times = rs.flatMap((r) => r.times);
      const tls = rs.flatMap((r) => r.tls);
      const connack = rs.flatMap((r) => r.connack);
      const sum = (f) => rs.reduce((a, r) => a + r[f], 0);
      return {
        wallMs: performance.now() - t0,
        back: times.length,
        lastMs: Math.max(0, ...times),
        p50: pct(times, 50),
        p99: pct(times, 99),
        tlsP50: pct(tls, 50),
        connackP50: pct(connack, 50),
        resumed: sum('resumed'),
        busy: sum('busy'),
        retries: sum('retries'),
        failed: sum('failed'),
        clientCpuMs: sum('cpuMs'),
      };
    },
    async close() {
      for (const k of kids) k.send({ cmd: 'close' });
      await Promise.all(kids.map((k) => k.stop(5000)));
    },
  };
}

/** Connect all, idle memory, restart, reconnect all: the same steps for the hub and Mosquitto. */
async function scenario(name, { port, ca, file, topic, pid, gc, restart }) {
  const memBefore = await memory(pid(), gc);
  const pool = await clientPool(port, ca, file, topic);
  try {
    const cpu0 = procStat(pid()).cpuSeconds;
    const first = await pool.phase('first');
    const firstCpu = procStat(pid()).cpuSeconds - cpu0;
    if (first.back !== N) throw new Error(`${name}: only ${first.back} of ${N} connected`);
    await sleep(2000);
    const memAfter = await memory(pid(), gc);
    const r = await restart();
    const cpu1 = procStat(pid()).cpuSeconds;
    const again = await pool.phase('again');
    const againCpu = procStat(pid()).cpuSeconds - cpu1;
    return {
      name,
      first: { ...first, serverCpuMs: firstCpu * 1000 },
      again: { ...again, serverCpuMs: againCpu * 1000 },
      restart: r,
      memPerConn: (memAfter - memBefore) / N,
      memBefore,
      memAfter,
    };
  } finally {
    await pool.close();
  }
}

const line = (r, ph) => {
  const x = r[ph];
  const full = x.back - x.resumed;
  const secs = x.lastMs / 1000;
  return `    ${ph === 'first' ? 'first connect' : 'after restart'}: ${x.back}/${N} back and published in ${(x.lastMs / 1000).toFixed(1)} s, per device p50 ${(x.p50 / 1000).toFixed(2)} s p99 ${(x.p99 / 1000).toFixed(2)} s (p50 handshake done ${(x.tlsP50 / 1000).toFixed(2)} s, CONNACK ${(x.connackP50 / 1000).toFixed(2)} s); ${full} full (${(full / secs).toFixed(0)}/s) + ${x.resumed} resumed (${(x.resumed / secs).toFixed(0)}/s) handshakes; ${x.busy} busy, ${x.retries} retries, ${x.failed} gave up; server CPU ${(x.serverCpuMs / 1000).toFixed(1)} s (${(x.serverCpuMs / Math.max(1, x.back)).toFixed(2)} ms/device), clients' CPU ${(x.clientCpuMs / 1000).toFixed(1)} s`;
};

const hub = hubProcess('bulwark-bench-reconnect-', HUB_FLAGS, {
  execArgv: [
    '--expose-gc',
    '--import',
    GC_PRELOAD,
    ...(process.env.HUB_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ],
});
let mosquitto;
process.on('SIGINT', () => {
  killChildren();
  hub.remove();
  process.exit(130);
});
try {
  const prov = await provisionLocal({
    dataDir: hub.dir,
    count: N,
    onProgress: (n) => process.stderr.write(`  provisioned ${n}/${N}\n`),
  });
  const file = join(hub.dir, 'bench-devices.json');
  writeFileSync(file, JSON.stringify(prov.devices), { mode: 0o600 });
  const topic = `channels/${prov.channelId}/messages`;
  const info = await hub.start();
  const ca = [readFileSync(info.caFile, 'utf8'), prov.hubCa];
  const b = await scenario('bulwark', {
    port: info.mqttPort,
    ca,
    file,
    topic,
    pid: () => hub.pid,
    gc: true,
    async restart() {
      const t0 = performance.now();
      await hub.stop();
      const t1 = performance.now();
      await hub.start(info.httpPort, info.mqttPort);
      return { stopMs: t1 - t0, startMs: performance.now() - t1 };
    },
  });
  let m;
  if (WITH_MOSQUITTO) {
    mosquitto = await startMosquitto([...prov.chain, prov.hubCa].join(''));
    m = await scenario('mosquitto', {
      port: mosquitto.port,
      ca: [mosquitto.ca],
      file,
      topic,
      pid: () => mosquitto.pid,
      gc: false,
      async restart() {
        const t0 = performance.now();
        await mosquitto.restart();
        return { stopMs: NaN, startMs: performance.now() - t0 };
      },
    });
  }
  console.log(
    `Reconnect after a restart: ${N} devices, each its own certificate (mTLS, MQTT 3.1.1, one QoS 1 PUBLISH each), ${CLIENTS} client processes × ${WIDTH} handshakes in flight, TLS resumption ${RESUME ? 'on' : 'off'} in the clients; server and clients share the machine's ${(await import('node:os')).availableParallelism()} cores (provisioning ${(prov.ms / 1000).toFixed(0)} s, not measured)`,
  );
  for (const r of [b, m].filter(Boolean)) {
    console.log(
      `  ${r.name}: restart — stopped in ${(r.restart.stopMs / 1000).toFixed(1)} s, listening ${(r.restart.startMs / 1000).toFixed(1)} s after its start`,
    );
    console.log(line(r, 'first'));
    console.log(line(r, 'again'));
    console.log(
      `    memory per idle mTLS connection: ${(r.memPerConn / 1024).toFixed(1)} KB (RSS${r.name === 'bulwark' ? ' after a full GC' : ''}, ${(r.memBefore / 2 ** 20).toFixed(0)} → ${(r.memAfter / 2 ** 20).toFixed(0)} MB)`,
    );
  }
  if (m) {
    console.log(
      `  Bulwark ÷ Mosquitto: back after restart ${(b.again.lastMs / m.again.lastMs).toFixed(2)}× the time, memory per idle connection ${(b.memPerConn / m.memPerConn).toFixed(2)}×`,
    );
  }
  console.log(
    `  goal (issue 12): ${N} back and publishing ≤ 10 s after the restart — ${b.again.back === N && b.again.lastMs <= 10_000 ? 'met' : 'not met'} (${(b.again.lastMs / 1000).toFixed(1)} s from listening, ${((b.again.lastMs + b.restart.startMs) / 1000).toFixed(1)} s from the start command)`,
  );
} finally {
  await mosquitto?.stop().catch(() => undefined);
  await hub.stop().catch(() => undefined);
  killChildren();
  hub.remove();
}
