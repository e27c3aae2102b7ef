// Memory per idle mutual-TLS MQTT connection: Bulwark's engine (own process, `listenTls`) and our
// own Mosquitto (temp config, free loopback port), each measured in its own run, one after the other.
// A throwaway EC P-256 CA, server certificate (SAN IP:127.0.0.1) and ONE client certificate that
// every client shares are made with `openssl` in a temp dir that is removed afterwards.
// Used by bench/mqtt.mjs (`ONLY=mtls node bench/mqtt.mjs` runs just this). Loopback only.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adopt, child, onCleanup } from './mqtt-child.mjs';

const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function openssl(dir, args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 });
}

/** CA, server (SAN IP:127.0.0.1, serverAuth) and one client certificate (clientAuth), EC P-256. */
function makeCertificates(dir) {
  const key = (name) =>
    openssl(dir, [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      `${name}.key`,
    ]);
  key('ca');
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/O=bulwark-bench/CN=bench CA',
    '-days',
    '1',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    'ca.crt',
  ]);
  const leaf = (name, subject, ext) => {
    key(name);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      String(Date.now()),
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
  };
  leaf(
    'server',
    '/O=bulwark-bench/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  leaf(
    'client',
    '/O=bulwark-bench/CN=bench-client',
    'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  // Mosquitto drops root privileges to its own user before loading certificates: the throwaway
  // directory and files must be readable by it.
  chmodSync(dir, 0o755);
  for (const f of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key'])
    chmodSync(join(dir, f), 0o644);
  return {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    client: {
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'client.crt'),
      key: join(dir, 'client.key'),
    },
  };
}

/** A free loopback port: bind port 0, note it, close. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Median of `n` samples, `gap` ms apart, of every numeric field `sample()` returns. */
async function samples(sample, n, gap) {
  const all = [];
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(gap);
    all.push(await sample());
  }
  const out = {};
  for (const k of Object.keys(all[0]))
    if (typeof all[0][k] === 'number') out[k] = median(all.map((s) => s[k]));
  out.rssSamples = all.map((s) => s.rss);
  return out;
}

/** Open `count` idle mTLS connections through a load child, sampling memory before and after. */
async function measure(name, port, sample, opts, hooks = {}) {
  const { count, batch, settleMs, nSamples, gapMs, client } = opts;
  const before = await samples(sample, nSamples, gapMs);
  await hooks.before?.();
  const load = child('mqtt-load.mjs', [
    JSON.stringify({ mode: 'idle', port, count, batch, keepAlive: 300, tls: client, tag: name }),
  ]);
  try {
    const ready = await load.next(opts.openTimeoutMs);
    if (ready.open !== count) throw new Error(`${name}: only ${ready.open} of ${count} connected`);
    await sleep(settleMs);
    const after = await samples(sample, nSamples, gapMs);
    const extra = await hooks.after?.();
    load.send({ cmd: 'close' });
    const closed = await load.next(15_000);
    if (closed.closedEarly > 0)
      throw new Error(`${name}: the broker closed ${closed.closedEarly} idle connections early`);
    return {
      name,
      count,
      openMs: ready.openMs,
      before,
      after,
      perConn: (after.rss - before.rss) / count,
      ...extra,
    };
  } finally {
    await load.stop(5000);
  }
}

async function bulwark(certs, opts) {
  const broker = child(
    'mqtt-tls-broker.mjs',
    [JSON.stringify({ ca: certs.ca, cert: certs.cert, key: certs.key })],
    ['--expose-gc', ...opts.brokerFlags],
  );
  try {
    const { port } = await broker.next(15_000);
    const sample = async () => {
      broker.send({ cmd: 'mem' });
      return broker.next(10_000);
    };
    const snap = async (tag) => {
      broker.send({ cmd: 'snapshot', path: join(opts.dir, `bulwark-${tag}.heapsnapshot`) });
      return (await broker.next(60_000)).snapshot;
    };
    let beforeSnap;
    const hooks = opts.heapSnapshot
      ? {
          before: async () => (beforeSnap = await snap('before')),
          after: async () => ({ heap: heapDiff(beforeSnap, await snap('after'), opts.count) }),
        }
      : {};
    const r = await measure('bulwark', port, sample, opts, hooks);
    if (r.after.connections !== opts.count)
      throw new Error(`bulwark: engine reports ${r.after.connections} connections`);
    return r;
  } finally {
    broker.send({ cmd: 'stop' });
    await broker.stop(5000);
  }
}

/** Self size and count per (node type, constructor name) in a V8 heap snapshot file. */
function heapGroups(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const groups = new Map();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + iType]];
    const name = ['object', 'closure', 'native', 'hidden'].includes(type)
      ? strings[nodes[i + iName]]
      : '';
    const key = `${type}:${name.slice(0, 60)}`;
    const g = groups.get(key) ?? { size: 0, n: 0 };
    g.size += nodes[i + iSize];
    g.n++;
    groups.set(key, g);
  }
  return groups;
}

/** The groups that grew most between two snapshots, per connection. */
function heapDiff(beforePath, afterPath, count) {
  const a = heapGroups(beforePath);
  const b = heapGroups(afterPath);
  const rows = [];
  let total = 0;
  for (const [key, g] of b) {
    const d = g.size - (a.get(key)?.size ?? 0);
    total += d;
    rows.push({ key, bytesPerConn: d / count, countPerConn: (g.n - (a.get(key)?.n ?? 0)) / count });
  }
  for (const [key, g] of a) if (!b.has(key)) total -= g.size;
  rows.sort((x, y) => y.bytesPerConn - x.bytesPerConn);
  return { totalPerConn: total / count, top: rows.slice(0, 15) };
}

function procStatus(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1]) * 1024;
  return { rss: kb('VmRSS'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
}

async function mosquitto(dir, certs, opts) {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `cafile ${certs.ca}`,
      `certfile ${certs.cert}`,
      `keyfile ${certs.key}`,
      'require_certificate true',
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  chmodSync(conf, 0o644);
  const proc = adopt(spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  let exited = false;
  const gone = new Promise((r) => proc.once('exit', r)).then(() => (exited = true));
  proc.once('error', (e) => (stderr += String(e)));
  try {
    // Ready when the port accepts a TCP connection (bounded: 10 s).
    const end = Date.now() + 10_000;
    for (;;) {
      if (exited) throw new Error(`mosquitto exited: ${stderr.trim()}`);
      if (Date.now() > end) throw new Error(`mosquitto not listening on ${port} after 10 s`);
      const ok = await new Promise((r) => {
        const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      });
      if (ok) break;
      await sleep(100);
    }
    const sample = async () => {
      if (exited) throw new Error(`mosquitto exited: ${stderr.trim()}`);
      return procStatus(proc.pid);
    };
    return { ...(await measure('mosquitto', port, sample, opts)), pid: proc.pid, port };
  } finally {
    if (!exited) proc.kill('SIGTERM');
    await Promise.race([gone, sleep(5000)]);
    if (!exited) proc.kill('SIGKILL');
  }
}

/**
 * Run both measurements. Options: count (2000), batch (100 handshakes at a time), settleMs (2000),
 * nSamples (5), gapMs (200), heapSnapshot (false: when true, Bulwark's heap is snapshotted before
 * and after and diffed by constructor — this perturbs its RSS figures, so use it for diagnosis only),
 * brokerFlags ([]: extra Node flags for Bulwark's process, e.g. ['--max-semi-space-size=1']).
 */
export async function mtlsIdleMemory(options = {}) {
  const opts = {
    count: 2000,
    batch: 100,
    settleMs: 2000,
    nSamples: 5,
    gapMs: 200,
    openTimeoutMs: 120_000,
    brokerFlags: [],
    ...options,
  };
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-mtls-bench-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const release = onCleanup(removeDir);
  try {
    const certs = makeCertificates(dir);
    opts.client = certs.client;
    opts.dir = dir;
    const b = await bulwark(certs, opts);
    let m = null;
    try {
      m = await mosquitto(dir, certs, opts);
    } catch (e) {
      console.error(`mTLS: Mosquitto side failed: ${e.message}`);
    }
    return { bulwark: b, mosquitto: m, count: opts.count };
  } finally {
    release();
    removeDir();
  }
}

const kb = (n, d = 1) => (n / 1024).toFixed(d);

/** Human-readable detail lines (stderr in bench/mqtt.mjs). */
export function describeMtls(r) {
  const b = r.bulwark;
  const lines = [
    `mTLS idle memory: ${r.count} connections, each side in its own run; every client presents the SAME client certificate (one cert shared, EC P-256, keep-alive 300 s).`,
    `  bulwark   RSS ${kb(b.before.rss / 1024)} MB → ${kb(b.after.rss / 1024)} MB (median of ${b.after.rssSamples.length}; after GC), ${kb(b.perConn)} KB/conn; opened in ${Math.round(b.openMs)} ms`,
  ];
  const d = (k) => (b.after[k] - b.before[k]) / r.count;
  // Committed V8 pages are not all resident, so the bytes outside V8 lie between these bounds.
  const nativeLow = d('rss') - d('heapTotal') - d('external');
  const nativeHigh = d('rss') - d('heapUsed') - d('external');
  lines.push(
    `  bulwark   per conn: V8 heap used ${kb(d('heapUsed'))} KB (heap total ${kb(d('heapTotal'))} KB), external ${kb(d('external'))} KB (arrayBuffers ${kb(d('arrayBuffers'))} KB), outside V8's accounting (OpenSSL SSL objects and buffers, TLSWrap, libuv, malloc) ${kb(nativeLow)}–${kb(nativeHigh)} KB`,
  );
  lines.push(
    `  bulwark   V8 new space ${kb(b.before.newSpace / 1024)} → ${kb(b.after.newSpace / 1024)} MB, old space ${kb(b.before.oldSpace / 1024)} → ${kb(b.after.oldSpace / 1024)} MB (committed, not necessarily resident: heap total's growth is mostly these, not live objects)`,
  );
  if (b.heap) {
    lines.push(
      `  bulwark   heap snapshot diff: ${kb(b.heap.totalPerConn, 2)} KB live V8 objects per connection; largest groups per connection:`,
    );
    for (const t of b.heap.top)
      lines.push(
        `            ${t.key.padEnd(50)} ${(t.bytesPerConn | 0).toString().padStart(6)} B  ×${t.countPerConn.toFixed(1)}`,
      );
  }
  const m = r.mosquitto;
  if (m) {
    lines.push(
      `  mosquitto RSS ${kb(m.before.rss / 1024)} MB → ${kb(m.after.rss / 1024)} MB (VmRSS median of ${m.after.rssSamples.length}; RssAnon ${kb(m.before.rssAnon / 1024)} → ${kb(m.after.rssAnon / 1024)} MB), ${kb(m.perConn)} KB/conn; opened in ${Math.round(m.openMs)} ms`,
    );
    lines.push(
      `  ratio Bulwark/Mosquitto: ${m.perConn > 0 ? (b.perConn / m.perConn).toFixed(2) + '×' : 'n/a'}`,
    );
  } else lines.push('  mosquitto: not measured');
  return lines;
}
