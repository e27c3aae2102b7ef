/**
 * Delta downloads through the whole install path (real hub over mutual TLS, real agent): the delta
 * figures of a download cut in the middle cover the whole image, and a delta-built image that fails
 * its sha256 check is downloaded again once as the plain full image, and chunks only the inactive
 * slot holds are kept aside before the download overwrites it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chunkImage } from '@bulwark/firmware';
import { DirectorySlots } from '../src/update/directory-slots.js';
import { noise, releaseOf } from './update-fixtures.js';
import { finalStatus, startProxiedRig } from './update-device.js';
import { FACTORY_IMAGE, sha, type Proxy, type Rig } from './update-rig.js';

describe('delta downloads on a device', () => {
  let env: Awaited<ReturnType<typeof startProxiedRig>>;
  let rig: Rig;
  let proxy: Proxy;
  // The new image holds the running (factory) image in the middle: ~64 KiB to reuse.
  const head = noise(300_000, 11);
  const tail = noise(300_000, 12);
  const image = Buffer.concat([head, FACTORY_IMAGE, tail]);
  // Same length, but other bytes where the factory image is: its index does not describe `image`.
  const other = Buffer.concat([head, noise(FACTORY_IMAGE.byteLength, 13), tail]);

  let artOther: Awaited<ReturnType<Rig['artifact']>>;

  before(async () => {
    env = await startProxiedRig('bulwark-delta-install-');
    ({ rig, proxy } = env);
    artOther = await rig.artifact(other, { version: '2.0.1' });
  });
  after(() => env?.close());

  const device = (name: string, o: Parameters<typeof env.device>[1] = {}) => env.device(name, o);

  it('reports the whole download in its delta figures after a cut connection', async () => {
    const art = await rig.artifact(image, { chunkIndex: await chunkImage(image) });
    const d = await device('cut');
    proxy.cutAtBytes = proxy.bytesDown + 150_000;
    rig.send(d.deviceId, 'job-cut', rig.offer('job-cut', art));
    const s = await finalStatus(rig, d, 'job-cut', 60_000);
    assert.equal(s.state, 'succeeded', s.message);
    assert.ok(d.fetches.length >= 3, `a cut and a resume: fetches at ${d.fetches.join()}`);
    const delta = s.delta!;
    assert.ok(delta !== undefined, 'succeeded carries the delta figures');
    assert.equal(delta.totalBytes, image.byteLength);
    assert.equal(
      delta.downloadedBytes + delta.reusedBytes,
      image.byteLength,
      JSON.stringify(delta),
    );
    assert.ok(delta.reusedBytes > 40_000, JSON.stringify(delta));
    const downloaded = rig.statuses(d.deviceId, 'job-cut').find((x) => x.state === 'downloaded');
    assert.deepEqual(downloaded?.delta, delta);
    assert.equal((await d.slots.readManifest('b'))?.sha256, sha(image));
  });

  it('fetches the ranges of one download over one kept-alive connection', async () => {
    const f = FACTORY_IMAGE;
    const v = Buffer.concat([
      noise(40_000, 31),
      f.subarray(0, 20_000),
      noise(30_000, 32),
      f.subarray(20_000, 45_000),
      noise(30_000, 33),
      f.subarray(45_000),
      noise(20_000, 34),
    ]);
    const art = await rig.artifact(v, { version: '2.0.3', chunkIndex: await chunkImage(v) });
    const d = await device('keep-alive');
    const before = proxy.connections;
    rig.send(d.deviceId, 'job-ka', rig.offer('job-ka', art));
    const s = await finalStatus(rig, d, 'job-ka', 60_000);
    assert.equal(s.state, 'succeeded', s.message);
    assert.ok(d.fetches.length >= 2, `ranged requests at ${d.fetches.join()}`);
    assert.ok(s.delta!.reusedBytes > 0, JSON.stringify(s.delta));
    assert.equal(proxy.connections - before, 1, `${d.fetches.length} requests, one connection`);
  });

  it('downloads the full image once when the delta-built image fails its sha256 check', async () => {
    const art = artOther;
    // Signed, but with the index of `image`: the reused factory chunks are not `other`'s bytes.
    const metadata = rig.signing.release(other, { chunkIndex: await chunkImage(image) });
    const d = await device('mismatch');
    rig.send(d.deviceId, 'job-mm', rig.offer('job-mm', { ...art, metadata }));
    const s = await finalStatus(rig, d, 'job-mm', 60_000);
    assert.equal(s.state, 'succeeded', s.message);
    assert.deepEqual(s.delta, {
      totalBytes: image.byteLength,
      downloadedBytes: image.byteLength,
      reusedBytes: 0,
    });
    assert.equal(d.fetches.filter((o) => o === 0).length, 2, `fetches at ${d.fetches.join()}`);
    assert.equal((await d.slots.readManifest('b'))?.sha256, sha(other));
    assert.equal(d.reboots, 1);
  });

  it('fails hash_mismatch when the full image fails too, and stays on the old slot', async () => {
    const art = artOther;
    // The metadata describes `image` (hash and index); the hub serves `other`.
    const metadata = rig.signing.release(image, { chunkIndex: await chunkImage(image) });
    const d = await device('bad');
    rig.send(d.deviceId, 'job-bad', rig.offer('job-bad', { ...art, metadata }));
    const s = await finalStatus(rig, d, 'job-bad', 60_000);
    assert.deepEqual([s.state, s.reason], ['failed', 'hash_mismatch'], s.message);
    assert.equal(d.fetches.filter((o) => o === 0).length, 2, `fetches at ${d.fetches.join()}`);
    const c = await d.slots.readControl();
    assert.deepEqual([c.primary, c.slots.a.good, c.slots.b.good], ['a', true, false]);
    assert.equal(d.reboots, 0);
  });

  it('does not download chunks that only the inactive slot holds (release before last)', async () => {
    // Slot b (inactive) holds v1, slot a runs v2; v3 shares chunks with v1 only.
    const v1 = noise(200_000, 21);
    const v2 = noise(200_000, 22);
    const v3 = Buffer.concat([v1.subarray(0, 150_000), noise(50_000, 23)]);
    const provision = async (dir: string) => {
      const slots = await DirectorySlots.open(join(dir, 'slots'));
      await slots.installFactory('a', v2, releaseOf(v2, '1.0.0', 5));
      await slots.writeImage('b', 0, v1);
      await slots.writeManifest('b', releaseOf(v1, '0.9.0', 4));
      const c = await slots.readControl();
      await slots.writeControl({ ...c, slots: { ...c.slots, b: { attemptsLeft: 3, good: true } } });
      await slots.boot();
      return slots;
    };
    const art = await rig.artifact(v3, { version: '3.0.0', chunkIndex: await chunkImage(v3) });
    const d = await device('before-last', { provision });
    const start = proxy.bytesDown;
    rig.send(d.deviceId, 'job-v3', rig.offer('job-v3', art));
    const s = await finalStatus(rig, d, 'job-v3', 60_000);
    assert.equal(s.state, 'succeeded', s.message);
    const delta = s.delta!;
    assert.equal(delta.downloadedBytes + delta.reusedBytes, v3.byteLength, JSON.stringify(delta));
    assert.ok(delta.reusedBytes > 120_000, `v1's chunks reused: ${JSON.stringify(delta)}`);
    assert.ok(proxy.bytesDown - start < 120_000, `${proxy.bytesDown - start} bytes came down`);
    assert.equal((await d.slots.readManifest('b'))?.sha256, sha(v3));
    assert.equal((await d.agent.updates.status())?.state, 'committed');
    const scratch = join(env.dirOf(d), 'state', 'update', 'scratch');
    assert.deepEqual(
      existsSync(scratch) ? readdirSync(scratch) : [],
      [],
      'the scratch area is gone',
    );
  });
});
