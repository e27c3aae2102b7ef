// Remote access (decision 0042): throughput and added latency of `bulwark connect` to a TCP port
// on the device — CLI → hub relay → device agent → a TCP echo server on the device's loopback,
// TLS end to end inside the relayed stream — beside a direct loopback TCP connection to the same
// echo server (the reference), in the same run. A hub in this process, `bulwark agent` as a
// process. Goals (issue 16): ≥ 50 MB/s through the hub, < 5 ms added latency.
// Usage: node bench/connect.mjs [MB] [pings]   (after tsc -b; defaults 64 MB, 500 pings).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { loadConfig, startHub } from '../packages/hub/dist/src/index.js';
import { createClient } from '../packages/sdk/dist/src/index.js';
import { openTunnel } from '../packages/cli/dist/src/connect/tunnel.js';

const MB = Number(process.argv[2] ?? 64);
const PINGS = Number(process.argv[3] ?? 500);
const BIN = fileURLToPath(new URL('../packages/cli/bin/bulwark.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-connect-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

const echo = createServer((c) => {
  c.setNoDelay(true);
  c.on('error', () => c.destroy());
  c.pipe(c);
});
await new Promise((r) => echo.listen(0, '127.0.0.1', r));
const echoPort = echo.address().port;

const hub = await startHub(
  loadConfig(
    [
      '--data-dir',
      join(dir, 'hub'),
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--http-host',
      '127.0.0.1',
    ],
    {},
  ),
  { print: () => undefined, logger: pino({ level: 'silent' }) },
);
let agent;
try {
  const ca = readFileSync(hub.info.caFile, 'utf8');
  const dispatcher = new UndiciAgent({ connect: { ca } });
  const f = (input, init) => undiciFetch(input, { ...init, dispatcher });
  const client = (token) =>
    createClient({ baseUrl: hub.info.url, ...(token ? { token } : {}), fetch: f });
  const anon = client();
  const password = 'correct horse battery staple relay';
  await anon.setup.complete({
    token: hub.setupToken,
    organization: 'Bench',
    email: 'ops@example.com',
    name: 'Bench',
    password,
  });
  const tokens = await anon.auth.login({ email: 'ops@example.com', password });
  const owner = client(tokens.accessToken);
  const { key } = await owner.apiKeys.create({
    name: 'bench',
    permissions: ['devices:read', 'devices:manage'],
  });
  const api = client(key);
  const device = await api.devices.create({ name: 'bench-1', type: 'sensor' });
  const { token } = await api.devices.createEnrollmentToken(device.id, {});
  const config = join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      hubUrl: hub.info.url,
      mqttUrl: `mqtts://127.0.0.1:${hub.info.mqttPort}`,
      caFile: hub.info.caFile,
      stateDir: join(dir, 'agent'),
      enrollment: { token },
      remoteAccess: { tcpPorts: [echoPort] },
    }),
  );
  agent = spawn(process.execPath, [BIN, 'agent', '--config', config], {
    stdio: 'ignore',
    detached: true,
  });
  const conn = { url: hub.info.url, caFile: hub.info.caFile, token: key, source: 'bench' };
  const open = async () => {
    for (let i = 0; i < 150; i++) {
      try {
        return (await openTunnel(api, conn, { deviceId: device.id, target: `tcp:${echoPort}` }))
          .socket;
      } catch (err) {
        // Until the agent has enrolled (device active) and subscribed to its tunnel offers.
        if (err.code !== 'device_not_connected' && err.code !== 'conflict') throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error('the agent did not connect');
  };
  const direct = () =>
    new Promise((resolve, reject) => {
      const s = tcpConnect(echoPort, '127.0.0.1', () => resolve(s));
      s.setNoDelay(true);
      s.once('error', reject);
    });

  /** Sends `total` bytes and reads them back; MB/s of payload (one way). */
  const throughput = (s, total) =>
    new Promise((resolve) => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      let got = 0;
      let sent = 0;
      const t0 = performance.now();
      s.on('data', (b) => {
        got += b.length;
        if (got >= total) {
          s.removeAllListeners('data');
          resolve(total / 1e6 / ((performance.now() - t0) / 1000));
        }
      });
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      s.resume();
      pump();
    });

  /** Round trips of a 32-byte message, in ms. */
  const latency = async (s, n) => {
    const rtts = [];
    const msg = Buffer.alloc(32, 1);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await new Promise((resolve) => {
        let got = 0;
        const on = (b) => {
          got += b.length;
          if (got >= msg.length) {
            s.off('data', on);
            resolve();
          }
        };
        s.on('data', on);
        s.write(msg);
      });
      rtts.push(performance.now() - t0);
    }
    return rtts;
  };

  const total = MB * 1e6;
  const d = await direct();
  const tunnel = await open();
  tunnel.resume(); // openTunnel hands it over paused (after reading the device's answer)
  const rows = [];
  process.stderr.write('measuring…\n');
  const dRtt = await latency(d, PINGS);
  const tRtt = await latency(tunnel, PINGS);
  const dMbs = await throughput(d, total);
  const tMbs = await throughput(tunnel, total);
  rows.push([
    'throughput (MB/s, echoed)',
    dMbs.toFixed(0),
    tMbs.toFixed(0),
    (tMbs / dMbs).toFixed(2),
  ]);
  rows.push([
    'round trip, median (ms)',
    median(dRtt).toFixed(3),
    median(tRtt).toFixed(3),
    (median(tRtt) / median(dRtt)).toFixed(1),
  ]);
  rows.push([
    'round trip, p99 (ms)',
    p99(dRtt).toFixed(3),
    p99(tRtt).toFixed(3),
    (p99(tRtt) / p99(dRtt)).toFixed(1),
  ]);
  d.destroy();
  tunnel.destroy();
  console.log(`${MB} MB echoed, ${PINGS} round trips of 32 bytes; the machine may be shared.\n`);
  console.log(
    '| figure | direct loopback TCP (reference) | bulwark connect through the hub | ratio |',
  );
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  const added = median(tRtt) - median(dRtt);
  console.log(
    `\nadded latency (median): ${added.toFixed(3)} ms (goal < 5 ms): ${added < 5 ? 'met' : 'NOT met'}; ` +
      `throughput ${tMbs.toFixed(0)} MB/s (goal ≥ 50): ${tMbs >= 50 ? 'met' : 'NOT met'}`,
  );
} finally {
  if (agent?.pid) {
    try {
      process.kill(-agent.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  echo.close();
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
}
