#!/usr/bin/env node
// `npm run bench:mqtt` — ENGINE ONLY: the same load generator against the Bulwark MQTT engine
// (plain-TCP open-mode listener, in its own process: no TLS, no access control, nothing stored) and
// the local Mosquitto (127.0.0.1:1883). The path devices use is `npm run bench:ingest`.
// 10 publishers → 1 wildcard subscriber, 100-byte payloads; loopback only; every phase bounded.
// Plus memory per idle mutual-TLS connection (2,000), against the engine's `listenTls` and our own
// Mosquitto with a temp config and throwaway certificates (bench/mqtt-mtls.mjs).
// Run after `tsc -b`. Env: RUNS (default 3), DURATION_MS (default 3000), MOSQUITTO_PORT (1883),
// ONLY=mtls (just the mTLS memory measurement), MTLS_CONNECTIONS (2000), MTLS_HEAP_SNAPSHOT=1
// (diagnosis: diff Bulwark's V8 heap by constructor; perturbs that side's RSS figures),
// MTLS_BROKER_FLAGS (extra Node flags for the mTLS Bulwark process, e.g. --max-semi-space-size=1).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { child, killChildren } from './mqtt-child.mjs';
import { connectPacket, splitter, subscribePacket } from './mqtt-codec.mjs';
import { describeMtls, mtlsIdleMemory } from './mqtt-mtls.mjs';

const RUNS = Number(process.env.RUNS ?? 3);
const DURATION = Number(process.env.DURATION_MS ?? 3000);
const MOSQUITTO_PORT = Number(process.env.MOSQUITTO_PORT ?? 1883);
const ONLY = process.env.ONLY ?? '';
const MTLS_CONNECTIONS = Number(process.env.MTLS_CONNECTIONS ?? 2000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A raw subscriber: counts deliveries per publisher/seq; acknowledges QoS 1 in batches. */
async function subscriber(port, filter, qos, onMessage) {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await new Promise((r, j) => s.once('connect', r).once('error', j));
  let subacked;
  const ready = new Promise((r) => (subacked = r));
  s.on(
    'data',
    (() => {
      const split = splitter((h, buf, start) => {
        const type = h >> 4;
        if (type === 9) subacked();
        if (type !== 3) return;
        const pq = (h >> 1) & 3;
        const tlen = buf.readUInt16BE(start);
        let p = start + 2 + tlen;
        if (pq > 0) {
          acks.push(0x40, 2, buf[p], buf[p + 1]);
          p += 2;
        }
        onMessage(buf.readUInt16BE(p), buf.readUInt32BE(p + 2), buf.readDoubleBE(p + 6));
      });
      let acks = [];
      return (chunk) => {
        acks = [];
        split(chunk);
        if (acks.length > 0) s.write(Buffer.from(acks));
      };
    })(),
  );
  s.write(connectPacket(`bench-sub-${Math.random().toString(36).slice(2)}`));
  s.write(subscribePacket(filter, qos));
  await ready;
  return s;
}

async function throughput(port, qos, tag) {
  const delivered = Array.from({ length: 10 }, () => new Uint8Array(4_000_000 / 8));
  let count = 0;
  let last = 0;
  const sub = await subscriber(port, 'bench/#', qos, (pub, seq) => {
    const bit = 1 << (seq & 7);
    if ((delivered[pub][seq >> 3] & bit) === 0) {
      delivered[pub][seq >> 3] |= bit;
      count++;
    }
    last = performance.now();
  });
  const load = child('mqtt-load.mjs', [
    JSON.stringify({
      mode: 'flood',
      port,
      qos,
      publishers: 10,
      durationMs: DURATION,
      window: 100,
      tag,
    }),
  ]);
  await load.next();
  const t0 = performance.now();
  load.send({ cmd: 'go' });
  const result = await load.next(DURATION + 20_000);
  // Drain: wait until deliveries stop for 500 ms (bounded at 10 s).
  const drainEnd = performance.now() + 10_000;
  for (let seen = -1; seen !== count && performance.now() < drainEnd;) {
    seen = count;
    await sleep(500);
  }
  sub.destroy();
  let lost = 0;
  let acked = 0;
  if (qos > 0) {
    result.acked.forEach((b64, pub) => {
      const bits = Buffer.from(b64, 'base64');
      for (let i = 0; i < bits.length; i++) {
        const a = bits[i];
        if (a === 0) continue;
        for (let k = 0; k < 8; k++) {
          if (a & (1 << k)) {
            acked++;
            if ((delivered[pub][i] & (1 << k)) === 0) lost++;
          }
        }
      }
    });
  }
  const sent = result.sent.reduce((a, b) => a + b, 0);
  return { rate: count / ((last - t0) / 1000), delivered: count, sent, acked, lost };
}

async function latency(port, rate, tag) {
  const lat = [];
  const sub = await subscriber(port, 'bench/rate', 0, (_pub, _seq, ts) =>
    lat.push(performance.timeOrigin + performance.now() - ts),
  );
  const load = child('mqtt-load.mjs', [
    JSON.stringify({ mode: 'rate', port, rate, durationMs: DURATION, tag }),
  ]);
  await load.next();
  load.send({ cmd: 'go' });
  const r = await load.next(DURATION + 10_000);
  await sleep(300);
  sub.destroy();
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), n: lat.length, sent: r.sent };
}

async function idleMemory(port, measure, tag) {
  const before = await measure();
  const load = child('mqtt-load.mjs', [JSON.stringify({ mode: 'idle', port, count: 2000, tag })]);
  const ready = await load.next(60_000);
  await sleep(500);
  const after = await measure();
  load.send({ cmd: 'close' });
  await load.next();
  return (after - before) / ready.open;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function suite(name, port, measure) {
  const out = { name };
  // Idle memory first, while the broker's heap is not yet inflated by the floods.
  out.idle = await idleMemory(port, measure, name);
  for (const qos of [0, 1]) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await throughput(port, qos, `${name}-${qos}-${i}`));
    out[`q${qos}`] = median(runs.map((r) => r.rate));
    out[`q${qos}lost`] = runs.reduce((a, r) => a + r.lost, 0);
    out[`q${qos}runs`] = runs;
    console.error(
      `${name} QoS ${qos}: ${runs.map((r) => `${Math.round(r.rate)} msg/s (sent ${r.sent}, delivered ${r.delivered}, acked ${r.acked}, lost ${r.lost})`).join('; ')}`,
    );
  }
  for (const rate of [1000, 10000]) {
    out[`lat${rate}`] = await latency(port, rate, `${name}-lat-${rate}`);
    console.error(`${name} latency @${rate}/s: ${JSON.stringify(out[`lat${rate}`])}`);
  }
  return out;
}

function mosquittoRss() {
  try {
    const pid = execFileSync('pidof', ['mosquitto']).toString().trim().split(/\s+/)[0];
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

// Never leave a broker or load child behind, whatever happens.
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

async function plainSuites() {
  const engine = child('mqtt-broker.mjs', [], ['--expose-gc']);
  try {
    const { port } = await engine.next();
    const engineMem = async () => {
      engine.send({ cmd: 'mem' });
      return (await engine.next()).rss;
    };
    const bulwark = await suite('bulwark', port, engineMem);
    const reachable = await new Promise((r) => {
      const s = net.connect(MOSQUITTO_PORT, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    const mosq = reachable
      ? await suite('mosquitto', MOSQUITTO_PORT, async () => mosquittoRss())
      : null;
    return { bulwark, mosq };
  } finally {
    engine.send({ cmd: 'stop' });
    await engine.stop(5000);
  }
}

let bulwark = null;
let mosq = null;
let mtls = null;
try {
  if (ONLY !== 'mtls') ({ bulwark, mosq } = await plainSuites());
  // After the plain suites (the system Mosquitto is idle again, our engine child stopped).
  mtls = await mtlsIdleMemory({
    count: MTLS_CONNECTIONS,
    heapSnapshot: process.env.MTLS_HEAP_SNAPSHOT === '1',
    brokerFlags: (process.env.MTLS_BROKER_FLAGS ?? '').split(/\s+/).filter(Boolean),
  });
  for (const line of describeMtls(mtls)) console.error(line);
} catch (e) {
  console.error(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
}

const f = (n, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';
const ratio = (a, b, inverse = false) =>
  Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0
    ? `${(inverse ? b / a : a / b).toFixed(2)}×`
    : 'n/a';
const mtlsRow = [
  `memory per idle mTLS connection (KB)`,
  f(mtls.bulwark.perConn / 1024, 1),
  f(mtls.mosquitto?.perConn / 1024, 1),
  ratio(mtls.bulwark.perConn, mtls.mosquitto?.perConn),
];
const rows = !bulwark
  ? [mtlsRow]
  : [
      ['QoS 0 delivered (msg/s, median)', f(bulwark.q0), f(mosq?.q0), ratio(bulwark.q0, mosq?.q0)],
      ['QoS 1 delivered (msg/s, median)', f(bulwark.q1), f(mosq?.q1), ratio(bulwark.q1, mosq?.q1)],
      ['QoS 1 lost (PUBACKed, never delivered)', f(bulwark.q1lost), f(mosq?.q1lost), ''],
      [
        'p50 latency @ 1k msg/s (ms)',
        f(bulwark.lat1000.p50, 2),
        f(mosq?.lat1000.p50, 2),
        ratio(bulwark.lat1000.p50, mosq?.lat1000.p50, true),
      ],
      [
        'p99 latency @ 1k msg/s (ms)',
        f(bulwark.lat1000.p99, 2),
        f(mosq?.lat1000.p99, 2),
        ratio(bulwark.lat1000.p99, mosq?.lat1000.p99, true),
      ],
      [
        'p50 latency @ 10k msg/s (ms)',
        f(bulwark.lat10000.p50, 2),
        f(mosq?.lat10000.p50, 2),
        ratio(bulwark.lat10000.p50, mosq?.lat10000.p50, true),
      ],
      [
        'p99 latency @ 10k msg/s (ms)',
        f(bulwark.lat10000.p99, 2),
        f(mosq?.lat10000.p99, 2),
        ratio(bulwark.lat10000.p99, mosq?.lat10000.p99, true),
      ],
      [
        'memory per idle plain-TCP connection (KB)',
        f(bulwark.idle / 1024, 1),
        f(mosq?.idle / 1024, 1),
        '',
      ],
      mtlsRow,
    ];
if (bulwark) {
  console.log(
    `\nMQTT ENGINE-ONLY benchmark — 10 publishers → 1 wildcard subscriber, 100-byte payloads, ${RUNS} runs of ${DURATION} ms, loopback`,
  );
  console.log(
    '(open-mode plain-TCP listener: no TLS, no access control, nothing stored — not the path devices use; that is `npm run bench:ingest`)',
  );
  console.log(
    '(latency ratios are Mosquitto/Bulwark, so > 1× means Bulwark is faster; the memory ratio is Bulwark/Mosquitto)',
  );
} else console.log('\nMQTT ENGINE-ONLY benchmark — mTLS idle memory only (ONLY=mtls), loopback');
console.log(
  `(mTLS memory: ${MTLS_CONNECTIONS} idle connections, ΔRSS / connections, each broker in its own run; all clients share ONE client certificate; Mosquitto there is our own instance with a temp config)\n`,
);
const w = [44, 14, 14, 8];
console.log(
  ['', 'Bulwark', 'Mosquitto', 'ratio']
    .map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i])))
    .join(' '),
);
for (const r of rows)
  console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : String(c).padStart(w[i]))).join(' '));
process.exit(0);
