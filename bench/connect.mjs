// Remote access (decision 0042): throughput and added latency of `bulwark connect` to a TCP port
// on the device — CLI → hub relay → device agent → a TCP echo server on the device's loopback,
// TLS end to end inside the relayed stream — directly (the agent connected to the hub) and through
// a gateway (hub ← `bulwark gateway` ← agent, decision 0042's amendment of 2026-12-07; set up by
// bench/connect-gateway.mjs), beside two references in the same run: a direct loopback TCP
// connection to the same echo server, and a direct loopback TLS connection to a TLS echo server
// (the same bytes, one TLS layer, no relay). A hub in this process; agents and the gateway as
// processes. Goals (issue 16): ≥ 50 MB/s through the hub, < 5 ms added latency.
// Usage: node bench/connect.mjs [MB] [pings]   (after tsc -b; defaults 64 MB, 500 pings).
// Env: GATEWAY=0 skips the gateway row; TIMEOUT_S (300) bounds the whole run; every phase is
// bounded too (throughput 120 s per row, round trips 60 s per row).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { loadConfig, startHub } from '../packages/hub/dist/src/index.js';
import { createClient } from '../packages/sdk/dist/src/index.js';
import { openTunnel } from '../packages/cli/dist/src/connect/tunnel.js';
import { bulwark, gatewaySite } from './connect-gateway.mjs';
import { echoServers, latency, median, p99, throughput } from './connect-measure.mjs';
import { selfSignedCert } from './self-signed.mjs';

const MB = Number(process.argv[2] ?? 64);
const PINGS = Number(process.argv[3] ?? 500);
const WITH_GATEWAY = process.env.GATEWAY !== '0';
const TIMEOUT_S = Number(process.env.TIMEOUT_S ?? 300);
const BIN = fileURLToPath(new URL('../packages/cli/bin/bulwark.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-connect-'));
const children = [];
const killChildren = () => {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
};
const watchdog = setTimeout(() => {
  console.error(`bench:connect: not done in ${TIMEOUT_S} s; stopping`);
  killChildren();
  rmSync(dir, { recursive: true, force: true });
  process.exit(2);
}, TIMEOUT_S * 1000);

const echo = await echoServers(selfSignedCert(dir, { name: 'echo' }));
const echoPort = echo.tcpPort;
const load0 = loadavg()[0];
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
  bulwark(BIN, ['agent', '--config', config, '--no-watchdog'], children);
  const behind = WITH_GATEWAY
    ? await gatewaySite({ hub, owner, api, dir, bin: BIN, echoPort, children })
    : undefined;
  const conn = { url: hub.info.url, caFile: hub.info.caFile, token: key, source: 'bench' };
  const open = async (deviceId) => {
    for (let i = 0; i < 150; i++) {
      try {
        const { socket } = await openTunnel(api, conn, { deviceId, target: `tcp:${echoPort}` });
        return socket; // handed over paused (after reading the device's answer); measuring resumes
      } catch (err) {
        // Until the agent has enrolled (device active) and subscribed to its tunnel offers.
        if (err.code !== 'device_not_connected' && err.code !== 'conflict') throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error('the agent did not connect');
  };

  const paths = [
    ['direct loopback TCP (reference)', await echo.tcp()],
    ['direct loopback TLS', await echo.tls()],
    ['bulwark connect, through the hub', await open(device.id)],
  ];
  if (behind) paths.push(['bulwark connect, hub ← gateway ← agent', await open(behind.device.id)]);
  process.stderr.write('measuring…\n');
  const total = MB * 1e6;
  const rtts = [];
  for (const [, s] of paths) {
    await latency(s, 20, 60_000); // warm-up, not counted
    rtts.push(await latency(s, PINGS, 60_000));
  }
  const mbs = [];
  for (const [, s] of paths) mbs.push(await throughput(s, total, 120_000));
  for (const [, s] of paths) s.destroy();

  const ms = (x) => x.toFixed(3);
  const [base] = rtts;
  const col = (fn) => `| ${rtts.map((_, i) => fn(i)).join(' | ')} |`;
  console.log(
    `${MB} MB echoed and ${PINGS} round trips of 32 bytes per path (after 20 warm-up), ` +
      `load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}; the machine may be shared.\n`,
  );
  console.log(`| figure | ${paths.map(([name]) => name).join(' | ')} |`);
  console.log(`|---|${paths.map(() => '---|').join('')}`);
  console.log(`| throughput (MB/s, echoed) ${col((i) => mbs[i].toFixed(0))}`);
  console.log(`| vs TCP ${col((i) => (mbs[i] / mbs[0]).toFixed(2))}`);
  console.log(`| round trip p50 (ms) ${col((i) => ms(median(rtts[i])))}`);
  console.log(`| round trip p99 (ms) ${col((i) => ms(p99(rtts[i])))}`);
  console.log(`| added p50 (ms) ${col((i) => ms(median(rtts[i]) - median(base)))}`);
  console.log(`| added p99 (ms) ${col((i) => ms(p99(rtts[i]) - p99(base)))}`);
  console.log('');
  for (let i = 2; i < paths.length; i++) {
    const added = median(rtts[i]) - median(base);
    console.log(
      `${paths[i][0]}: added latency p50 ${ms(added)} ms (goal < 5 ms): ` +
        `${added < 5 ? 'met' : 'NOT met'}; throughput ${mbs[i].toFixed(0)} MB/s (goal ≥ 50): ` +
        `${mbs[i] >= 50 ? 'met' : 'NOT met'}`,
    );
  }
} finally {
  clearTimeout(watchdog);
  killChildren();
  echo.close();
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
}
