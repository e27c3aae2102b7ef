/**
 * The gateway across network namespaces (issue 16): the hub on the host side of a veth pair, the
 * gateway and a device in a site namespace where the device reaches only the gateway (on the
 * namespace's own loopback: the hub's side has no route to it). The site's uplink is cut with
 * `ip link set … down` for 60 seconds under load (issue 16): the device keeps being acknowledged,
 * keeps publishing while the backlog drains after the link returns, and in the end every message
 * is stored once, in order. Needs root and iproute2; under CI=true their absence fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
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
import { exited, netnsSkip, siteNetns } from './site-netns.js';

const skip = netnsSkip();
const site = siteNetns('bg', 79);
const BIN = fileURLToPath(new URL('../../../cli/bin/bulwark.js', import.meta.url));
const DEVICE = fileURLToPath(new URL('./netns-device-child.js', import.meta.url));
/** Issue 16: the uplink is cut for 60 seconds. */
const OUTAGE_MS = 60_000;
/** One message every 25 ms at most: ~40/s, so the device is still publishing after the outage. */
const COUNT = 2_600;

describe(
  'gateway in a site network namespace, uplink cut with ip link',
  { skip, timeout: 300_000 },
  () => {
    let t: TestHub;
    let s: Awaited<ReturnType<typeof setupOrg>>;
    let dir: string;

    before(async () => {
      site.up();
      t = await startTestHub(site.hubAddr);
      s = await setupOrg(t);
      dir = tempDir();
    });
    after(async () => {
      await site.down();
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const start = (args: string[]) => site.start(args);

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
          mqttUrl: `mqtts://${site.hubAddr}:${t.mqttPort}`,
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
          const sock = connect({ host: site.siteAddr, port, timeout: 3_000 }, () =>
            resolve(sock.end()),
          );
          sock.on('error', reject);
          sock.on('timeout', () => reject(new Error('timeout')));
        }),
      );
      await waitFor(() => /connected to mqtts/.test(gw.out.text), 'the uplink', 30_000);
      await new Promise((r) => setTimeout(r, 2_500)); // one sync with the device in it
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
      site.inSite('ip', 'link', 'set', site.vSite, 'down');
      const ackedAt = (text: string) =>
        Number(/acked (\d+)\n(?![\s\S]*acked)/.exec(text)?.[1] ?? 0);
      const before = ackedAt(device.out.text);
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const during = ackedAt(device.out.text) - before;
      const storedDuring = (await stored(s.api, s.channelId)).length;
      site.inSite('ip', 'link', 'set', site.vSite, 'up');
      const upAt = ackedAt(device.out.text);
      assert.ok(
        during > 0,
        `the device was acknowledged while the uplink was down\n${device.out.text}`,
      );
      // Nothing acknowledged after the cut reached the hub (`before` is printed every 20 messages).
      assert.ok(storedDuring < before + 20, `${storedDuring} stored during the outage`);
      const code = await exited(device.c, 90_000);
      assert.equal(code, 0, device.out.text);
      // Live traffic went on while the backlog drained: the device published after the link came
      // back (its last messages are in the order check below, so none was dropped for the backlog).
      assert.ok(
        upAt < COUNT - 100,
        `the device was still publishing when the link returned (${upAt})`,
      );
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
