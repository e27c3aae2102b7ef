/**
 * Issue 16's firmware scenario across network namespaces: the hub on the host side of a veth pair,
 * `bulwark gateway` (its cache on) and 100 site devices in a site namespace, the devices reaching
 * only the gateway (on the namespace's loopback: the hub's side has no route to them). The
 * gateway's HTTPS to the hub runs through a counting TCP proxy on the hub's side: the hub sends the
 * image once while 100 devices download it. Needs root and iproute2; under CI=true their absence
 * fails.
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
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';
import { exited, netnsSkip, siteNetns } from './site-netns.js';
import { countingProxy, firmwarePublisher, pool } from './firmware-helpers.js';

const skip = netnsSkip();
const site = siteNetns('bf', 78);
const BIN = fileURLToPath(new URL('../../../cli/bin/bulwark.js', import.meta.url));
const DEVICES_CHILD = fileURLToPath(new URL('./netns-firmware-child.js', import.meta.url));
const DEVICES = 100;
const MiB = 1024 * 1024;

describe(
  'gateway firmware cache in a site network namespace: 100 devices, the hub serves the image once',
  { skip, timeout: 240_000 },
  () => {
    let t: TestHub;
    let s: Awaited<ReturnType<typeof setupOrg>>;
    let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
    let dir: string;

    before(async () => {
      site.up();
      t = await startTestHub(site.hubAddr);
      s = await setupOrg(t);
      dir = tempDir();
    });
    after(async () => {
      await proxy?.close();
      await site.down();
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const start = (args: string[]) => site.start(args);

    it('serves 100 site devices one verified image that crossed the uplink once', async () => {
      const pub = await firmwarePublisher(s.owner);
      const a = await pub.artifact(1 * MiB);
      const devices = await pool(
        Array.from({ length: DEVICES }, (_, i) => i),
        8,
        (i) => enrollDevice(t, s.api, `ns-dev-${i}`, { locationId: s.siteId }),
      );
      const d = await s.api.devices.create({
        name: 'gw-fw',
        type: 'gateway',
        locationId: s.siteId,
      });
      const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
      proxy = await countingProxy(Number(new URL(t.url).port), site.hubAddr);
      const tls = serverCert(dir);
      const config = join(dir, 'gateway.json');
      writeFileSync(
        config,
        JSON.stringify({
          hubUrl: `https://${site.hubAddr}:${proxy.port}`,
          mqttUrl: `mqtts://${site.hubAddr}:${t.mqttPort}`,
          caFile: t.caFile,
          stateDir: join(dir, 'state'),
          enrollment: { token },
          connection: { backoffMinMs: 100, backoffMaxMs: 1000 },
          gateway: {
            broker: { host: '127.0.0.1', port: 0, certFile: tls.certFile, keyFile: tls.keyFile },
            syncIntervalSeconds: 2,
            inventory: { enabled: false },
            cache: { enabled: true, host: '127.0.0.1', port: 0 },
          },
        }),
      );
      const gw = start([BIN, 'gateway', '--config', config, '--no-watchdog']);
      const listening = /firmware cache listening on [^:]+:(\d+)/;
      await waitFor(() => listening.test(gw.out.text), 'the firmware cache', 30_000);
      const port = Number(listening.exec(gw.out.text)![1]);
      // The hub's side cannot reach the cache: it is on the site's loopback.
      await assert.rejects(
        new Promise((resolve, reject) => {
          const sock = connect({ host: site.siteAddr, port, timeout: 3_000 }, () =>
            resolve(sock.end()),
          );
          sock.on('error', reject);
          sock.on('timeout', () => reject(new Error('timeout')));
        }),
      );
      // A site sync (every 2 s) lists the devices enrolled above.
      await waitFor(
        () => /connected to mqtts/.test(gw.out.text),
        `the uplink\n${gw.out.text}`,
        30_000,
      );
      const before = proxy.fromHub;
      const input = join(dir, 'devices.json');
      writeFileSync(
        input,
        JSON.stringify({
          port,
          ca: tls.pem,
          path: `/api/v1/firmware/artifacts/${a.id}/image`,
          devices: devices.map((x) => ({ keyPem: x.keyPem, certPem: x.certPem, chain: x.chain })),
        }),
      );
      // The site sync may still be on its way: retry until every device is admitted.
      let result: {
        statuses: number[];
        shas: string[];
        ms: number;
        resumed: [number, number, string];
      };
      for (let attempt = 0; ; attempt++) {
        const child = start([DEVICES_CHILD, input]);
        assert.equal(await exited(child.c, 120_000), 0, child.out.text);
        result = JSON.parse(child.out.text.trim().split('\n').at(-1)!) as typeof result;
        if (result.statuses.every((x) => x === 200) || attempt === 5) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const fromHub = proxy.fromHub - before;
      assert.deepEqual(new Set(result.statuses), new Set([200]), gw.out.text);
      assert.deepEqual(result.shas, [a.sha256]);
      assert.deepEqual(result.resumed, [206, 206, a.sha256]);
      assert.ok(fromHub >= a.image.byteLength, `the hub sent ${fromHub}`);
      // Once: less than twice the image (the rest is TLS, headers, metadata and the site syncs
      // every 2 s meanwhile), where 100 devices fetching from the hub would be 100 times it.
      assert.ok(fromHub < 2 * a.image.byteLength, `the hub sent ${fromHub}`);
      process.stderr.write(
        `# figures (netns): ${DEVICES} devices × ${a.image.byteLength} B in ${result.ms} ms; ` +
          `the hub sent ${fromHub} B\n`,
      );
      gw.c.kill('SIGTERM');
      await exited(gw.c, 20_000);
    });
  },
);
