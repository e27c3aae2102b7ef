#!/usr/bin/env node
// `npm run bench:coap` (issue 17's goals; decisions 0041 and 0043), loopback only, every loop bounded:
//  1. REGISTRATIONS LwM2M registrations over plain CoAP held by one hub (its own process): devices
//     tagged `lwm2m` are imported, SOCKETS UDP sockets register them (WINDOW in flight per socket,
//     Confirmable with RFC 7252 retransmission) and answer the hub's Read of /3/0. Prints
//     registrations/s, and the hub's heap and RSS per registration after a full GC (SIGUSR2,
//     bench/gc-on-signal.mjs) — registration, service record, twin and presence included.
//  2. DTLS-PSK handshakes/s against the hub's LwM2M-over-DTLS port with the tests' DTLS client on
//     node:crypto (transport/test/dtls/raw-client.ts: cookie exchange, TLS_PSK_WITH_AES_128_CCM_8),
//     CONCURRENCY at a time, HANDSHAKES in all (at most 900: the hub keeps 1,000 associations per
//     address and this client sends no close_notify). Then the comparable figure, same machine and
//     same client: libcoap's `coap-client-openssl` (a process per handshake + one GET) against the
//     hub and against libcoap's `coap-server-openssl` with the same key. (Our raw client against
//     OpenSSL's server stalls ~1 s per handshake, so it is not used for the reference.)
// Env: REGISTRATIONS (10000), SOCKETS (50), WINDOW (4), HANDSHAKES (600), CONCURRENCY (4).
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { randomBytes } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { generate, parse } from 'coap-packet';
import { createClient } from '../packages/sdk/dist/src/index.js';
import { handshake } from '../packages/transport/dist/test/dtls/raw-client.js';
import { hubProcess } from './hub-process.mjs';
import { procStat } from './ota-serve.mjs';

const REGISTRATIONS = Number(process.env.REGISTRATIONS ?? 10_000);
const SOCKETS = Number(process.env.SOCKETS ?? 50);
const WINDOW = Number(process.env.WINDOW ?? 4);
const HANDSHAKES = Math.min(900, Number(process.env.HANDSHAKES ?? 600));
const CONCURRENCY = Math.min(8, Number(process.env.CONCURRENCY ?? 4));
const KEY = 'psk-0123456789ab';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const log = (s) => process.stdout.write(`${s}\n`);
// The /3/0 answer: resource 0 (Manufacturer) "Bench" in TLV (Core §7.4.3), Content-Format 11542.
const TLV_3_0 = Buffer.concat([Buffer.from([0xc5, 0x00]), Buffer.from('Bench')]);
const uint = (n) => Buffer.from(n < 256 ? [n] : [n >> 8, n & 0xff]);

/** GET of the hub's metrics text (the bench's API key). */
function metrics(info, ca, apiKey) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${info.url}/metrics`,
      { ca, headers: { authorization: `Bearer ${apiKey}` }, timeout: 30_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      },
    );
    req.on('timeout', () => req.destroy(new Error('/metrics timed out')));
    req.on('error', reject);
    req.end();
  });
}
const metric = (text, name) => {
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
};

/** Heap used and RSS of the hub after a full GC. */
async function memory(hub, info, ca) {
  process.kill(hub.pid, 'SIGUSR2');
  await sleep(1500);
  const text = await metrics(info, ca, hub.apiKey);
  return {
    heap: metric(text, 'bulwark_process_nodejs_heap_size_used_bytes'),
    rss: procStat(hub.pid).rss,
    registrations: metric(text, 'bulwark_lwm2m_registrations'),
  };
}

/** One socket registering its share of endpoints, answering the hub's requests. */
async function registerAll(port, endpoints, deadline) {
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  const waiting = new Map(); // messageId → resolve
  let mid = randomBytes(2).readUInt16BE(0);
  let reads = 0;
  sock.on('message', (m) => {
    let p;
    try {
      p = parse(m);
    } catch {
      return;
    }
    if (p.ack || p.code.startsWith('2.') || p.code.startsWith('4.') || p.code.startsWith('5.')) {
      waiting.get(p.messageId)?.(p.code);
      return;
    }
    // A request of the hub (Read /3/0 after each Register; nothing else is asked here).
    const get = p.code === '0.01';
    if (get) reads++;
    sock.send(
      generate({
        code: get ? '2.05' : p.code === '0.03' ? '2.04' : '4.04',
        ack: true,
        messageId: p.messageId,
        token: p.token,
        options: get ? [{ name: 'Content-Format', value: uint(11542) }] : [],
        ...(get ? { payload: TLV_3_0 } : {}),
      }),
      port,
      '127.0.0.1',
    );
  });
  const registerOne = async (ep) => {
    mid = (mid + 1) & 0xffff;
    const id = mid;
    const msg = generate({
      code: '0.02',
      confirmable: true,
      messageId: id,
      token: randomBytes(4),
      options: [
        { name: 'Uri-Path', value: Buffer.from('rd') },
        { name: 'Uri-Query', value: Buffer.from(`ep=${ep}`) },
        { name: 'Uri-Query', value: Buffer.from('lt=86400') },
        { name: 'Uri-Query', value: Buffer.from('lwm2m=1.1') },
        { name: 'Uri-Query', value: Buffer.from('b=U') },
      ],
      payload: Buffer.from('</1/0>,</3/0>'),
    });
    // RFC 7252 §4.2: ACK_TIMEOUT 2 s doubling, 4 retransmissions.
    for (let attempt = 0, wait = 2000; attempt < 5 && Date.now() < deadline; attempt++) {
      const code = await new Promise((resolve) => {
        const t = setTimeout(() => resolve(undefined), wait);
        waiting.set(id, (c) => {
          clearTimeout(t);
          resolve(c);
        });
        sock.send(msg, port, '127.0.0.1');
      });
      waiting.delete(id);
      if (code !== undefined) return code;
      wait *= 2;
    }
    return 'timeout';
  };
  const codes = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: WINDOW }, async () => {
      while (next < endpoints.length && Date.now() < deadline) {
        const code = await registerOne(endpoints[next++]);
        codes[code] = (codes[code] ?? 0) + 1;
      }
    }),
  );
  return { sock, codes, reads: () => reads };
}

/** Handshakes against `port` with CONCURRENCY loops until `count`; each a new socket. */
async function handshakes(port, identity, count) {
  const times = [];
  let failed = 0;
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (started < count) {
        started++;
        const h0 = performance.now();
        try {
          const c = await handshake(port, identity, Buffer.from(KEY));
          times.push(performance.now() - h0);
          c.close();
        } catch {
          failed++;
        }
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  return { perSecond: times.length / s, medianMs: median(times), ok: times.length, failed };
}

/**
 * The comparable figure: libcoap's own client (`coap-client-openssl`, a process per handshake:
 * DTLS handshake, one GET, close) against `port`, CONCURRENCY at a time, `count` in all.
 */
async function clientProcesses(port, count) {
  const times = [];
  let failed = 0;
  let started = 0;
  const t0 = performance.now();
  const one = () =>
    new Promise((resolve) => {
      const h0 = performance.now();
      const args = [
        '-B',
        '5',
        '-m',
        'get',
        '-u',
        'bench-1',
        '-k',
        KEY,
        `coaps://127.0.0.1:${port}/rd`,
      ];
      const p = spawn('coap-client-openssl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (b) => (out += b));
      p.on('error', () => resolve(false));
      p.on('exit', (code) => {
        const ok = code === 0 && performance.now() - h0 < 4500;
        if (ok) times.push(performance.now() - h0);
        resolve(ok);
      });
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (started < count) {
        started++;
        if (!(await one())) failed++;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  return { perSecond: times.length / s, medianMs: median(times), ok: times.length, failed };
}

/** libcoap's server with the same key on a free port pair; resolves with its DTLS port. */
async function startLibcoap() {
  const base = 20_000 + Math.floor(Math.random() * 20_000);
  const proc = spawn('coap-server-openssl', ['-A', '127.0.0.1', '-p', String(base), '-k', KEY], {
    stdio: 'ignore',
  });
  const ok = await Promise.race([
    new Promise((r) => proc.once('error', () => r(false))),
    sleep(800).then(() => proc.exitCode === null),
  ]);
  return ok ? { proc, port: base + 1 } : undefined;
}

const hub = hubProcess(
  'bulwark-bench-coap-',
  [
    '--lwm2m-port',
    '0',
    '--lwm2ms-port',
    '0',
    '--lwm2ms-host',
    '127.0.0.1',
    '--lwm2m-max-registrations',
    String(Math.max(REGISTRATIONS, 20_000)),
  ],
  {
    execArgv: ['--expose-gc', '--import', new URL('./gc-on-signal.mjs', import.meta.url).pathname],
  },
);
let libcoap;
const sockets = [];
try {
  const info = await hub.start();
  const ca = readFileSync(info.caFile);
  const dispatcher = new Agent({ connect: { ca } });
  const api = createClient({
    baseUrl: info.url,
    token: hub.apiKey,
    fetch: (i, init) => undiciFetch(i, { ...init, dispatcher }),
  });
  log(
    `bench:coap — hub ${info.url}, LwM2M ${info.lwm2mPort}/udp, LwM2M over DTLS ${info.lwm2msPort}/udp`,
  );

  // 1. Registrations over plain CoAP.
  const ids = [];
  for (let i = 0; i < REGISTRATIONS; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, REGISTRATIONS - i) }, (_, j) => ({
      name: `lwm2m-${i + j}`,
      type: 'lwm2m',
      tags: ['lwm2m'],
    }));
    const r = await api.provisioning.importDevices({ devices: rows, newTypes: ['lwm2m'] });
    ids.push(...r.devices.map((d) => d.id));
  }
  const before = await memory(hub, info, ca);
  const cpu0 = procStat(hub.pid).cpuSeconds;
  const t0 = performance.now();
  const deadline = Date.now() + 600_000;
  const shares = Array.from({ length: SOCKETS }, (_, k) => ids.filter((_, i) => i % SOCKETS === k));
  const results = await Promise.all(
    shares.map((eps) => registerAll(info.lwm2mPort, eps, deadline)),
  );
  const regSeconds = (performance.now() - t0) / 1000;
  sockets.push(...results.map((r) => r.sock));
  const codes = {};
  for (const r of results)
    for (const [c, n] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + n;
  // The hub reads /3/0 after each Register: wait (bounded) until the reads stop coming.
  const readsNow = () => results.reduce((n, r) => n + r.reads(), 0);
  for (let last = -1, i = 0; i < 120 && readsNow() !== last; i++) {
    last = readsNow();
    await sleep(1000);
  }
  const cpu = procStat(hub.pid).cpuSeconds - cpu0;
  const after = await memory(hub, info, ca);
  const held = after.registrations;
  log(
    `\n## LwM2M registrations over plain CoAP (one hub, ${SOCKETS} client sockets × ${WINDOW} in flight)`,
  );
  log(
    `answers: ${JSON.stringify(codes)}; held by the hub: ${held}; GETs answered (the hub's Reads of /3/0, retransmissions included): ${readsNow()}`,
  );
  log(
    `registrations/s: ${(REGISTRATIONS / regSeconds).toFixed(0)} (${regSeconds.toFixed(1)} s for ${REGISTRATIONS})`,
  );
  log(
    `hub CPU per registration (incl. its Read of /3/0): ${((cpu / REGISTRATIONS) * 1000).toFixed(2)} ms`,
  );
  log(
    `hub heap per registration after a full GC: ${((after.heap - before.heap) / held / 1024).toFixed(1)} KB (heap ${(before.heap / 2 ** 20).toFixed(0)} → ${(after.heap / 2 ** 20).toFixed(0)} MB; RSS ${(before.rss / 2 ** 20).toFixed(0)} → ${(after.rss / 2 ** 20).toFixed(0)} MB)`,
  );

  // 2. DTLS-PSK handshakes/s: the hub's LwM2M over DTLS, then libcoap's server.
  const dev = await api.devices.create({ name: 'dtls-bench', type: 'lwm2m', tags: ['lwm2m'] });
  await api.devices.setPsk(dev.id, { identity: 'bench-1', key: Buffer.from(KEY).toString('hex') });
  log(
    `\n## DTLS 1.2 PSK handshakes (TLS_PSK_WITH_AES_128_CCM_8, cookie exchange, ${CONCURRENCY} at a time, client on node:crypto in this process)`,
  );
  await handshakes(info.lwm2msPort, 'bench-1', 20); // warm-up
  const ours = await handshakes(info.lwm2msPort, 'bench-1', HANDSHAKES - 20);
  log(
    `Bulwark (--lwm2ms-port): ${ours.perSecond.toFixed(0)}/s, median ${ours.medianMs.toFixed(1)} ms (${ours.ok} ok, ${ours.failed} failed)`,
  );
  const clients = Math.min(HANDSHAKES, 300);
  log(
    `\n## The same with libcoap's client (coap-client-openssl: a process per handshake + one GET; ${CONCURRENCY} at a time, ${clients} in all)`,
  );
  const oursByClient = await clientProcesses(info.lwm2msPort, clients);
  log(
    `Bulwark (--lwm2ms-port): ${oursByClient.perSecond.toFixed(0)}/s, median ${oursByClient.medianMs.toFixed(1)} ms (${oursByClient.ok} ok, ${oursByClient.failed} failed)`,
  );
  libcoap = await startLibcoap();
  if (libcoap) {
    const ref = await clientProcesses(libcoap.port, clients);
    log(
      `libcoap coap-server-openssl (reference, same machine and client): ${ref.perSecond.toFixed(0)}/s, median ${ref.medianMs.toFixed(1)} ms (${ref.ok} ok, ${ref.failed} failed)`,
    );
  } else {
    log('libcoap coap-server-openssl: not installed (apt-get install libcoap3-bin) — no reference');
  }
} finally {
  for (const s of sockets) s.close();
  libcoap?.proc.kill('SIGTERM');
  await hub.stop();
  hub.remove();
}
