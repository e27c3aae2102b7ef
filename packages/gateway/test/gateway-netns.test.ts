/**
 * The gateway across network namespaces (issue 16): the hub on the host side of a veth pair, the
 * gateway and a device in a site namespace where the device reaches only the gateway (on the
 * namespace's own loopback: the hub's side has no route to it). The site's uplink is cut with
 * `ip link set … down` under load: the device keeps being acknowledged, and afterwards every
 * message is stored once, in order. Needs root and iproute2; under CI=true their absence fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  enrollDevice,
  serverCert,
  setupOrg,
  startTestHub,
  stored,
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const ready = has('ip') && process.getuid?.() === 0;
if (!ready && process.env['CI'] === 'true') {
  it('iproute2 is installed and the tests run as root (required when CI=true)', () =>
    assert.fail(has('ip') ? 'network namespace tests need root' : 'apt-get install iproute2'));
}
const skip = ready ? false : 'needs root and `ip` (iproute2) to create network namespaces';

const BIN = fileURLToPath(new URL('../../../cli/bin/bulwark.js', import.meta.url));
const DEVICE = fileURLToPath(new URL('./netns-device-child.js', import.meta.url));
const TAG = `bg${randomBytes(3).toString('hex')}`;
const NS = `${TAG}s`;
const V_HUB = `${TAG}h`;
const V_SITE = `${TAG}v`;
const NET = `10.79.${randomInt(1, 250)}`;
const HUB_ADDR = `${NET}.1`;
const SITE_ADDR = `${NET}.2`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const inSite = (...args: string[]) => ip('netns', 'exec', NS, ...args);

/** The child's exit code, waiting at most `ms` (then SIGKILL, and the test fails). */
async function exited(c: ChildProcess, ms: number): Promise<number | null> {
  if (c.exitCode !== null) return c.exitCode;
  const timer = setTimeout(() => c.kill('SIGKILL'), ms);
  try {
    const [code] = (await once(c, 'exit')) as [number | null];
    assert.ok(code !== null, `the child did not exit within ${ms} ms (killed)`);
    return code;
  } finally {
    clearTimeout(timer);
  }
}

describe(
  'gateway in a site network namespace, uplink cut with ip link',
  { skip, timeout: 240_000 },
  () => {
    let t: TestHub;
    let s: Awaited<ReturnType<typeof setupOrg>>;
    let dir: string;
    const children = new Set<ChildProcess>();

    before(async () => {
      ip('netns', 'add', NS);
      ip('link', 'add', V_HUB, 'type', 'veth', 'peer', 'name', V_SITE);
      ip('link', 'set', V_SITE, 'netns', NS);
      ip('addr', 'add', `${HUB_ADDR}/24`, 'dev', V_HUB);
      ip('link', 'set', V_HUB, 'up');
      inSite('ip', 'addr', 'add', `${SITE_ADDR}/24`, 'dev', V_SITE);
      inSite('ip', 'link', 'set', V_SITE, 'up');
      inSite('ip', 'link', 'set', 'lo', 'up');
      t = await startTestHub(HUB_ADDR);
      s = await setupOrg(t);
      dir = tempDir();
    });
    after(async () => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await Promise.all([...children].map((c) => exited(c, 10_000).catch(() => undefined)));
      await t?.close();
      try {
        ip('netns', 'del', NS); // takes the veth pair with it
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    });

    const start = (args: string[]) => {
      const c = spawn('ip', ['netns', 'exec', NS, process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(c);
      const out = { text: '' };
      c.stdout.on('data', (b: Buffer) => (out.text += b.toString()));
      c.stderr.on('data', (b: Buffer) => (out.text += b.toString()));
      return { c, out };
    };

    it('keeps acknowledging the device while the uplink is down; nothing lost, doubled or reordered', async () => {
      const d = await s.api.devices.create({
        name: 'gw-ns',
        type: 'gateway',
        locationId: s.siteId,
      });
      const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
      const dev = await enrollDevice(t, s.api, 'ns-sensor', {
        locationId: s.siteId,
        channelId: s.channelId,
      });
      const tls = serverCert(dir);
      const config = join(dir, 'gateway.json');
      writeFileSync(
        config,
        JSON.stringify({
          hubUrl: t.url,
          mqttUrl: `mqtts://${HUB_ADDR}:${t.mqttPort}`,
          caFile: t.caFile,
          stateDir: join(dir, 'state'),
          enrollment: { token },
          connection: { backoffMinMs: 100, backoffMaxMs: 1000 },
          gateway: {
            broker: { host: '127.0.0.1', port: 0, certFile: tls.certFile, keyFile: tls.keyFile },
            syncIntervalSeconds: 2,
          },
        }),
      );
      const gw = start([BIN, 'gateway', '--config', config, '--no-watchdog']);
      const listening = /gateway broker listening on [^:]+:(\d+)/;
      await waitFor(() => listening.test(gw.out.text), 'the broker', 30_000);
      const port = Number(listening.exec(gw.out.text)![1]);
      // The hub's side cannot reach the site's devices: the broker is on the site's loopback.
      await assert.rejects(
        new Promise((resolve, reject) => {
          const sock = connect({ host: SITE_ADDR, port, timeout: 3_000 }, () =>
            resolve(sock.end()),
          );
          sock.on('error', reject);
          sock.on('timeout', () => reject(new Error('timeout')));
        }),
      );
      await waitFor(() => /connected to mqtts/.test(gw.out.text), 'the uplink', 30_000);
      await new Promise((r) => setTimeout(r, 2_500)); // one sync with the device in it
      const COUNT = 200;
      const device = start([
        DEVICE,
        JSON.stringify({
          port,
          brokerCa: tls.pem,
          ...dev,
          channelId: s.channelId,
          count: COUNT,
          pauseMs: 25,
        }),
      ]);
      await waitFor(() => /acked 21/.test(device.out.text), 'the first messages', 20_000);
      inSite('ip', 'link', 'set', V_SITE, 'down');
      const ackedAt = (text: string) =>
        Number(/acked (\d+)\n(?![\s\S]*acked)/.exec(text)?.[1] ?? 0);
      const before = ackedAt(device.out.text);
      await new Promise((r) => setTimeout(r, 6_000));
      const during = ackedAt(device.out.text) - before;
      const storedDuring = (await stored(s.api, s.channelId)).length;
      inSite('ip', 'link', 'set', V_SITE, 'up');
      assert.ok(
        during > 0,
        `the device was acknowledged while the uplink was down\n${device.out.text}`,
      );
      // Nothing acknowledged after the cut reached the hub (`before` is printed every 20 messages).
      assert.ok(storedDuring < before + 20, `${storedDuring} stored during the outage`);
      const code = await exited(device.c, 60_000);
      assert.equal(code, 0, device.out.text);
      await waitFor(
        async () => (await stored(s.api, s.channelId)).length >= COUNT,
        'everything stored',
        90_000,
      );
      const rows = await stored(s.api, s.channelId);
      assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
      assert.deepEqual(
        rows.map((r) => r.text),
        Array.from({ length: COUNT }, (_, n) => `n${n}`),
      );
      gw.c.kill('SIGTERM');
      await exited(gw.c, 20_000);
    });
  },
);
