#!/usr/bin/env node
// `npm run bench:handshakes`: mutual-TLS handshakes per second against the hub's MQTT/TLS
// listener with real device certificates (decision 0022): full handshakes, and handshakes that
// resume a TLS session from the hub's shared ticket keys. Each connection is a real device
// connect: TLS, MQTT 5 CONNECT, admission, CONNACK, close. A hub runs in its own process; this
// process enrolls DEVICES devices with the fleet simulator and drives CONCURRENCY connections at
// a time for DURATION_MS per mode (bounded). Prints connects/s, the median connect time, and the
// hub's CPU per connect (from /proc: the figure a shared machine disturbs least).
// Reference in the same run: the same loop against Mosquitto (require_certificate, its own
// session tickets) when /usr/sbin/mosquitto exists. Loopback only. Env: DEVICES (20),
// CONCURRENCY (16), DURATION_MS (5000).
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import tls from 'node:tls';
import { Simulator } from '../packages/agent/dist/src/sim/simulator.js';
import { hubProcess } from './hub-process.mjs';
import { procStat } from './ota-serve.mjs';
import { connectPacket } from './mqtt-codec.mjs';
import { startMosquitto } from './mosquitto-mtls.mjs';

const DEVICES = Number(process.env.DEVICES ?? 20);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const DURATION_MS = Number(process.env.DURATION_MS ?? 5000);
const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** One device connect; resolves with its time in ms, whether it resumed, and the new ticket. */
async function connectOnce(port, id, session) {
  const t0 = performance.now();
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ca: id.ca,
    key: id.key,
    cert: id.cert,
    ...(session ? { session } : {}),
  });
  let ticket;
  socket.on('session', (s) => (ticket = s));
  socket.on('error', () => undefined);
  try {
    await once(socket, 'secureConnect');
    const reused = socket.isSessionReused();
    socket.write(connectPacket(id.clientId, 60));
    const [ack] = await once(socket, 'data');
    if (ack[0] !== 0x20 || ack[3] !== 0) throw new Error(`refused: ${ack.toString('hex')}`);
    // TLS 1.3 tickets arrive with or just after the first server data.
    if (!ticket)
      await Promise.race([once(socket, 'session'), new Promise((r) => setTimeout(r, 20))]);
    return { ms: performance.now() - t0, reused, ticket };
  } finally {
    socket.destroy();
  }
}

/** CONCURRENCY loops of connects for DURATION_MS; `resume` reuses each device's last ticket. */
async function run(port, ids, resume, pid) {
  const tickets = new Map();
  // Warm-up: one connect per device (and its first ticket).
  for (const id of ids) tickets.set(id.clientId, (await connectOnce(port, id)).ticket);
  const times = [];
  let resumed = 0;
  let failed = 0;
  const cpu0 = pid ? procStat(pid).cpuSeconds : 0;
  const t0 = Date.now();
  const until = t0 + DURATION_MS;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const id = ids[next++ % ids.length];
        try {
          const r = await connectOnce(port, id, resume ? tickets.get(id.clientId) : undefined);
          if (r.ticket) tickets.set(id.clientId, r.ticket);
          times.push(r.ms);
          if (r.reused) resumed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  const cpu = pid ? procStat(pid).cpuSeconds - cpu0 : NaN;
  return {
    perSecond: times.length / secs,
    p50: median(times),
    resumed,
    count: times.length,
    failed,
    cpuMsPerConnect: (cpu * 1000) / Math.max(1, times.length),
  };
}

const hub = hubProcess('bulwark-bench-handshakes-');
let mosquitto;
let sim;
try {
  const info = await hub.start();
  const ca = readFileSync(info.caFile, 'utf8');
  sim = new Simulator({
    hubUrl: info.url,
    mqttUrl: `mqtts://127.0.0.1:${info.mqttPort}`,
    ca,
    apiKey: hub.apiKey,
    devices: DEVICES,
    prefix: 'hs',
  });
  await sim.start();
  await sim.waitConnected(DEVICES, 120_000);
  const ids = sim.devices.map(({ agent: { identity: m } }) => ({
    clientId: m.deviceId,
    key: m.keyPem,
    cert: m.certPem + m.chain[0],
    ca: [ca, m.hubCa],
  }));
  const chain = sim.devices[0].agent.identity;
  await sim.stop();
  sim = undefined;
  const full = await run(info.mqttPort, ids, false, hub.pid);
  const resumed = await run(info.mqttPort, ids, true, hub.pid);
  let ref;
  if (existsSync(MOSQUITTO)) {
    mosquitto = await startMosquitto([...chain.chain, chain.hubCa].join(''));
    const mids = ids.map((id) => ({ ...id, ca: [mosquitto.ca] }));
    ref = {
      full: await run(mosquitto.port, mids, false, mosquitto.pid),
      resumed: await run(mosquitto.port, mids, true, mosquitto.pid),
    };
  }
  const line = (name, r) =>
    `  ${name.padEnd(9)} ${r.perSecond.toFixed(0).padStart(6)} connects/s   p50 ${r.p50.toFixed(1)} ms   server CPU ${r.cpuMsPerConnect.toFixed(2)} ms/connect   (${r.count} connects, ${r.resumed} resumed, ${r.failed} failed)`;
  console.log(
    `MQTT/TLS device connects (TLS + CONNECT + admission + CONNACK), ${DEVICES} device certificates, ${CONCURRENCY} at a time, ${DURATION_MS / 1000} s each; hub in its own process, load generator in this one (same 2 cores)`,
  );
  console.log(line('full', full));
  console.log(line('resumed', resumed));
  console.log(
    `  resumed ÷ full: ${(resumed.perSecond / full.perSecond).toFixed(2)}× connects/s, ${(full.cpuMsPerConnect / resumed.cpuMsPerConnect).toFixed(2)}× less hub CPU per connect`,
  );
  if (ref) {
    console.log(`  reference, Mosquitto (require_certificate, same clients and loop):`);
    console.log(line('full', ref.full));
    console.log(line('resumed', ref.resumed));
    console.log(
      `  Bulwark ÷ Mosquitto connects/s: full ${(full.perSecond / ref.full.perSecond).toFixed(2)}, resumed ${(resumed.perSecond / ref.resumed.perSecond).toFixed(2)}`,
    );
  } else console.log(`  (no ${MOSQUITTO}: the Mosquitto reference is skipped)`);
} finally {
  await mosquitto?.stop().catch(() => undefined);
  await sim?.stop().catch(() => undefined);
  await hub.stop();
  hub.remove();
}
