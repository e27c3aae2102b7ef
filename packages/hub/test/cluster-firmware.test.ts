/**
 * A firmware update across two hub nodes sharing PostgreSQL and NATS (decision 0021): an image
 * uploaded through node A is stored in the deployment's JetStream object store, and a device
 * connected to node B is offered the job, downloads the image from B in ranged requests (as a
 * device resuming a download does), checks its hash, and its job ends `succeeded`. A third node
 * that keeps images in its own data dir (`--blobs fs`) shows why: it answers 500.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { UpdateInstallOffer } from '@bulwark/protocol';
import { natsTestUrl, requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { removeDeployment } from '@bulwark/bus-nats';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { signingKeys } from './signing-fixture.js';
import { eventually, updateDevice } from './updates-helpers.js';

const skip = (await requirePostgres()) || (await requireNats());
const schemas = withPostgresSchemas();
const nats = natsTestUrl();
// A deployment of its own on the shared NATS, removed at the end (streams and bucket).
const prefix = `t${process.pid}-${randomBytes(3).toString('hex')}`;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('a firmware update across two nodes', { skip, timeout: 90_000 }, () => {
  const hubs: TestHub[] = [];
  after(async () => {
    for (const h of hubs.reverse()) await h.close();
    if (skip === false) await removeDeployment({ servers: nats }, prefix);
  });

  it('an image uploaded through node A reaches a device on node B, by ranges; the job succeeds', async () => {
    const shared = [
      ...['--database', schemas.url, '--database-schema', schemas.next()],
      ...['--bus', nats, '--nats-prefix', prefix],
    ];
    const a = await startTestHub(shared);
    hubs.push(a);
    const key = ['--master-key-file', join(a.dir, 'master.key')];
    const b = await startTestHub([...shared, ...key]);
    hubs.push(b);
    // The setup token is the last started node's; the firmware goes in through node A.
    const s = await setupOwner(b);
    const onA = a.client(
      (await a.client().auth.login({ email: 'owner@example.com', password: PASSWORD })).accessToken,
    );
    const keys = signingKeys('ed25519');
    await onA.firmware.pushRoot(keys.root);
    // Several object store chunks (128 KiB), so the ranges cross chunk boundaries.
    const image = randomBytes(450_000);
    const meta = keys.release(image, { name: 'gw-3.0.0.img', version: '3.0.0', releaseCounter: 1 });
    const artifact = await onA.firmware.uploadImage((await onA.firmware.create(meta)).id, image);
    assert.equal(artifact.state, 'ready');
    assert.equal(existsSync(join(a.dir, 'blobs')), false, 'not in node A’s data dir');

    const d = await s.owner.devices.create({ name: 'gw-on-b', type: 'gateway' });
    const devKey = (await s.owner.devices.createKey(d.id)).key;
    const dev = await updateDevice(b, { id: d.id, key: devKey });
    try {
      const j = await onA.updates.deploy(d.id, artifact.id);
      await b.hub.brokers.devicePlane.sweep();
      const offer = (await dev.next(j.id)) as UpdateInstallOffer;
      assert.equal(offer.sha256, sha(image));
      await eventually(
        async () => ((await s.owner.updates.get(j.id)).state === 'delivered' ? true : undefined),
        'delivered',
      );

      const basic = `Basic ${Buffer.from(`${d.id}:${devKey}`).toString('base64')}`;
      const fetchB = b.fetchWith();
      const parts: Buffer[] = [];
      const cuts = [0, 100_000, 262_144, 300_001, image.byteLength];
      for (let i = 0; i + 1 < cuts.length; i++) {
        const [start, end] = [cuts[i]!, cuts[i + 1]! - 1];
        const res = await fetchB(`${b.url}${offer.imagePath}`, {
          headers: { authorization: basic, range: `bytes=${start}-${end}` },
        });
        assert.equal(res.status, 206, await res.clone().text());
        assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${image.byteLength}`);
        parts.push(Buffer.from(await res.arrayBuffer()));
        const bytes = cuts[i + 1]!;
        const progress = { bytes, total: image.byteLength };
        assert.equal(await dev.report(j.id, { state: 'downloading', progress }), 0);
      }
      assert.equal(sha(Buffer.concat(parts)), offer.sha256, 'the ranges make the signed image');
      for (const state of ['downloaded', 'installing', 'rebooting'])
        assert.equal(await dev.report(j.id, { state }), 0);
      const installed = { type: 'gateway', version: '3.0.0', releaseCounter: 1, slot: 'b' };
      assert.equal(await dev.report(j.id, { state: 'succeeded', installed }), 0);
      const done = await eventually(async () => {
        const job = await s.owner.updates.get(j.id);
        return job.state === 'succeeded' ? job : undefined;
      }, 'succeeded');
      assert.deepEqual(
        done.history.map((h) => h.state),
        [
          'queued',
          'delivered',
          'downloading',
          'downloaded',
          'installing',
          'rebooting',
          'succeeded',
        ],
      );
      assert.equal((await s.owner.devices.get(d.id)).firmwareVersion, '3.0.0');

      // The same cluster with a node that keeps images in its own data dir: the old failure.
      const c = await startTestHub([...shared, ...key, '--blobs', 'fs']);
      hubs.push(c);
      const res = await c.fetchWith()(`${c.url}${offer.imagePath}`, {
        headers: { authorization: basic, range: 'bytes=0-99' },
      });
      assert.equal(res.status, 500);
      assert.match(await res.text(), /the stored image is missing/);
    } finally {
      dev.end();
    }
  });
});
