/**
 * Issue 16's scenario, sized for CI: 100 site devices behind one gateway download the same signed
 * image while the hub serves it once. A real hub, a real gateway whose uplink to the hub's HTTPS
 * port runs through a counting TCP proxy (the bytes the hub sends, counted outside the gateway),
 * 100 devices enrolled with their own keys that download over HTTPS with their own certificates
 * (lightweight clients, not 100 agents), and one real agent that installs the update end to end
 * from the gateway's cache.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent, request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, MemoryFiles, MemorySlots, SyntheticSystem, parseAgentConfig } from '@bulwark/agent';
import type { BulwarkClient } from '@bulwark/sdk';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import {
  PASSWORD,
  enrollDevice,
  setupOrg,
  startTestHub,
  waitFor,
  type SiteDevice,
  type TestHub,
} from './helpers.js';
import {
  cacheGet,
  countingProxy,
  firmwarePublisher,
  pool,
  sha256,
  startCacheGateway,
  type CacheGateway,
} from './firmware-helpers.js';

const MiB = 1024 * 1024;
const DEVICES = 100;
const imagePath = (id: string) => `/api/v1/firmware/artifacts/${id}/image`;

describe('gateway firmware cache: 100 site devices, one image from the hub', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let g: CacheGateway;
  let pub: Awaited<ReturnType<typeof firmwarePublisher>>;
  let a: Awaited<ReturnType<typeof pub.artifact>>;
  let devices: SiteDevice[];

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    proxy = await countingProxy(Number(new URL(t.url).port));
    // Room for two 1 MiB images and a half: a third evicts the least recently used.
    g = await startCacheGateway(t, s.api, s.siteId, `https://127.0.0.1:${proxy.port}`, {
      maxBytes: 2.5 * MiB,
    });
    pub = await firmwarePublisher(s.owner);
    a = await pub.artifact(1 * MiB);
    devices = await pool(
      Array.from({ length: DEVICES }, (_, i) => i),
      8,
      (i) => enrollDevice(t, s.api, `site-dev-${i}`, { locationId: s.siteId }),
    );
    assert.ok(await g.gateway.sync.syncNow());
  });
  after(async () => {
    await g?.stop();
    await proxy?.close();
    await t?.close();
  });

  it('serves 100 devices the verified image while the hub sends it once', async () => {
    const before = proxy.fromHub;
    const t0 = performance.now();
    const got = await Promise.all(devices.map((d) => cacheGet(g, d, imagePath(a.id))));
    const ms = performance.now() - t0;
    const fromHub = proxy.fromHub - before;
    for (const r of got) {
      assert.equal(r.status, 200);
      assert.equal(r.body.byteLength, a.image.byteLength);
      assert.equal(sha256(r.body), a.sha256);
      assert.equal(r.headers['etag'], `"${a.sha256}"`);
    }
    const st = g.gateway.status().cache!;
    assert.equal(st.fetches, 1);
    assert.equal(st.servedBytes, DEVICES * a.image.byteLength);
    assert.equal(st.savedBytes, (DEVICES - 1) * a.image.byteLength);
    // The hub sent the image once: its bytes plus TLS, headers and the metadata requests.
    assert.ok(fromHub >= a.image.byteLength, `hub sent ${fromHub}`);
    assert.ok(fromHub < a.image.byteLength + 256 * 1024, `hub sent ${fromHub}`);
    process.stderr.write(
      `# figures: ${DEVICES} devices × ${a.image.byteLength} B = ${DEVICES * a.image.byteLength} B served ` +
        `by the gateway in ${ms.toFixed(0)} ms; the hub sent ${fromHub} B\n`,
    );
  });

  it('serves ranges from disk: a resumed download, a suffix, 416 past the end', async () => {
    const [d] = devices as [SiteDevice];
    const len = a.image.byteLength;
    const head = await cacheGet(g, d, imagePath(a.id), { range: 'bytes=0-99999' });
    assert.equal(head.status, 206);
    assert.equal(head.headers['content-range'], `bytes 0-99999/${len}`);
    const rest = await cacheGet(g, d, imagePath(a.id), { range: 'bytes=100000-' });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers['content-range'], `bytes 100000-${len - 1}/${len}`);
    assert.equal(sha256(Buffer.concat([head.body, rest.body])), a.sha256);
    const tail = await cacheGet(g, d, imagePath(a.id), { range: 'bytes=-10' });
    assert.deepEqual(tail.body, a.image.subarray(len - 10));
    const past = await cacheGet(g, d, imagePath(a.id), { range: `bytes=${len}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${len}`);
    assert.equal(g.gateway.status().cache!.fetches, 1);
  });

  it('refuses a device outside the site, a revoked certificate, another organization, bad paths', async () => {
    const outsider = await enrollDevice(t, s.api, 'outsider'); // same organization, no site
    const revoked = await enrollDevice(t, s.api, 'revoked', { locationId: s.siteId });
    await g.gateway.sync.syncNow();
    // A kept-alive connection of the device: cut at the sync that learns of the revocation.
    const keep = new HttpsAgent({ keepAlive: true });
    const first = await cacheGet(g, revoked, imagePath(a.id), {}, keep);
    assert.equal(first.status, 200);
    const cut = new Promise<void>((r) => first.socket.once('close', () => r()));
    await s.api.call('revokeCertificate', {
      params: { id: revoked.deviceId, serial: revoked.serial },
      body: { reason: 'keyCompromise' },
    });
    assert.ok(await g.gateway.sync.syncNow());
    await cut;
    keep.destroy();
    assert.equal(g.gateway.status().cache!.refused['cut'], 1);
    for (const dev of [outsider, revoked]) {
      const r = await cacheGet(g, dev, imagePath(a.id));
      assert.equal(r.status, 403);
      assert.equal(r.body.byteLength < 200, true);
    }
    // Another organization's device (another CA): refused in the TLS handshake.
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const token = (
      await t
        .client()
        .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id })
    ).accessToken;
    const foreign = await enrollDevice(t, t.client(token), 'foreign');
    await assert.rejects(cacheGet(g, foreign, imagePath(a.id)));
    // No client certificate at all: refused in the handshake too.
    const { keyPem } = await generateDeviceKeyAndCsr();
    await assert.rejects(cacheGet(g, { keyPem, certPem: '', chain: [] }, imagePath(a.id)));
    // Paths: nothing but an artifact id reaches the cache; an unknown artifact is the hub's 404.
    const [d] = devices as [SiteDevice];
    for (const p of [
      '/api/v1/firmware/artifacts/..%2F..%2Fqueue.db/image',
      '/api/v1/firmware/artifacts/../../../site.json/image',
      `/api/v1/firmware/artifacts/${a.id}/../../../../gateway/site.json`,
      '/api/v1/gateway/site',
      `/api/v1/firmware/artifacts/${a.id}`,
    ])
      assert.equal((await cacheGet(g, d, p)).status, 404, p);
    const unknown = await cacheGet(g, d, imagePath('0190a1b2-0000-7000-8000-000000000000'));
    assert.equal(unknown.status, 404);
    assert.equal(g.gateway.status().cache!.fetches, 1);
  });

  it('refuses a corrupted image from the hub and keeps nothing of it', async () => {
    const [d] = devices as [SiteDevice];
    const cacheDir = join(g.dir, 'state', 'gateway', 'cache');
    const corrupt = (sha: string) => {
      // The hub's stored copy goes bad on its disk (same length, one byte flipped).
      const blob = join(t.dir, 'blobs', sha.slice(0, 2), sha);
      const bytes = readFileSync(blob);
      bytes[1000] = bytes[1000]! ^ 0xff;
      writeFileSync(blob, bytes);
    };
    const refusedTwice = async (id: string, status: number[]) => {
      for (let i = 0; i < 2; i++) {
        const r = await cacheGet(g, d, imagePath(id));
        assert.ok(status.includes(r.status), `status ${r.status}: ${r.body.toString()}`);
      }
      assert.deepEqual(
        readdirSync(cacheDir).filter((f) => f.startsWith(id)),
        [],
      );
      assert.equal(g.gateway.firmware!.cache.has(id), false);
    };
    // 1. Corrupted before the hub ever read it: the hub's own check cuts the stream (503 here).
    const c1 = await pub.artifact(256 * 1024);
    corrupt(c1.sha256);
    await refusedTwice(c1.id, [502, 503]);
    // 2. Corrupted after the hub checked it (it trusts its check for a day and sends the bytes
    //    whole): the gateway's sha256 against the signed metadata refuses them (502).
    const c2 = await pub.artifact(256 * 1024);
    const read = await s.owner.firmware.download(c2.id);
    for await (const _ of read.body ?? []);
    corrupt(c2.sha256);
    const failures = g.gateway.status().cache!.verifyFailures;
    await refusedTwice(c2.id, [502]);
    assert.equal(g.gateway.status().cache!.verifyFailures, failures + 2);
  });

  it('a device leaving while its image is fetched holds nothing (its next downloads run)', async () => {
    const [d] = devices as [SiteDevice];
    const f = await pub.artifact(512 * 1024);
    const keep = new HttpsAgent({ keepAlive: false });
    await new Promise<void>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port: g.cachePort,
        path: imagePath(f.id),
        ca: g.brokerCa,
        key: d.keyPem,
        cert: d.certPem + (d.chain[0] ?? ''),
        agent: keep,
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      // Gone as soon as the request is sent, while the gateway fetches the image from the hub.
      req.on('finish', () => setTimeout(() => req.destroy(), 5));
      req.end();
    });
    await waitFor(() => g.gateway.firmware!.cache.has(f.id), 'the image cached');
    const four = await Promise.all([1, 2, 3, 4].map(() => cacheGet(g, d, imagePath(f.id))));
    assert.deepEqual(
      four.map((r) => r.status),
      [200, 200, 200, 200],
    );
  });

  it('evicts the least recently used image by size and fetches it again when asked', async () => {
    const [d] = devices as [SiteDevice];
    const b = await pub.artifact(1 * MiB);
    assert.equal((await cacheGet(g, d, imagePath(b.id))).status, 200);
    const e = await pub.artifact(1 * MiB);
    // Over 2.5 MiB: a, the least recently used, goes.
    assert.equal((await cacheGet(g, d, imagePath(e.id))).status, 200);
    const cache = g.gateway.firmware!.cache;
    assert.ok(!cache.has(a.id) && cache.has(b.id) && cache.has(e.id));
    assert.ok(cache.size.bytes <= 2.5 * MiB);
    const before = proxy.fromHub;
    const again = await cacheGet(g, d, imagePath(a.id));
    assert.equal(sha256(again.body), a.sha256);
    assert.ok(proxy.fromHub - before >= a.image.byteLength);
    // Kept again; the least recently used of the others made room.
    assert.ok(cache.has(a.id) && cache.size.bytes <= 2.5 * MiB);
  });

  it('reports the bytes saved to the hub as the gateway’s event', async () => {
    g.gateway.firmware!.reportStatus();
    const saved = async () => {
      const page = await s.api.call('listDeviceEvents', {
        params: { id: g.deviceId },
        query: { limit: 100 },
      });
      const e = page.items.find((x) => x.kind === 'site.firmware_cache_status');
      return e === undefined ? undefined : (e.detail['savedBytes'] as number);
    };
    await waitFor(async () => (await saved()) !== undefined, 'the cache status event');
    assert.ok((await saved())! >= (DEVICES - 1) * a.image.byteLength);
  });

  it('a real agent of the site installs an update downloaded from the gateway', async () => {
    const api: BulwarkClient = s.api;
    const dev = await api.devices.create({ name: 'agent-1', type: 'sensor', locationId: s.siteId });
    const { token } = await api.devices.createEnrollmentToken(dev.id, {});
    const factory = Buffer.alloc(64 * 1024, 7);
    const slots = await MemorySlots.provisioned(factory, {
      version: '1.0.0',
      counter: 1,
      sha256: sha256(factory),
      length: factory.byteLength,
    });
    const config = parseAgentConfig({
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      caFile: t.caFile,
      stateDir: join(g.dir, 'agent-1'),
      enrollment: { token },
      connection: { backoffMinMs: 50, backoffMaxMs: 300 },
      device: { type: 'sensor', firmwareVersion: '1.0.0' },
      update: {
        slotsDir: join(g.dir, 'agent-1-slots'),
        healthTimeoutSeconds: 20,
        cache: { url: `https://127.0.0.1:${g.cachePort}`, caFile: join(g.dir, 'cache-ca.pem') },
      },
    });
    const files = new MemoryFiles();
    const system = new SyntheticSystem();
    const fetches: number[] = [];
    const make = () => {
      const ag = new Agent({ config, files, system, slots });
      ag.on('update-fetch', (f: { offset: number }) => fetches.push(f.offset));
      return ag;
    };
    let agent = make();
    system.onReboot = async () => {
      await agent.stop();
      await slots.boot();
      agent = make();
      await agent.start();
    };
    try {
      await agent.start();
      await agent.whenConnected(20_000);
      await g.gateway.sync.syncNow(); // the gateway learns the new device's certificate
      const served = g.gateway.status().cache!.servedBytes;
      const job = await s.owner.updates.deploy(dev.id, a.id);
      await waitFor(
        async () =>
          ['succeeded', 'failed', 'rejected'].includes((await s.owner.updates.get(job.id)).state),
        'the update job to finish',
        60_000,
      );
      const done = await s.owner.updates.get(job.id);
      assert.equal(done.state, 'succeeded', JSON.stringify(done.history));
      assert.ok(fetches.length >= 1);
      assert.ok(g.gateway.status().cache!.servedBytes - served >= a.image.byteLength);
    } finally {
      await agent.stop();
    }
  });
});
