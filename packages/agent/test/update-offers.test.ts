/**
 * Offers the agent must refuse BEFORE any byte is downloaded (wrong type or hardware, downgrade,
 * below the minimum version, unknown key, expired, tampered metadata, an untrusted root), with the
 * reason in the job's status and the installer untouched; one job at a time; a re-delivered offer
 * answered the same; a cancel before installing. The image side is the real hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expiryAfter } from '@bulwark/firmware';
import { DirFiles } from '../src/files/dir-files.js';
import { join } from 'node:path';
import { cleanup, tempDir, waitFor } from './helpers.js';
import { finalStatus, startDevice, type TestDevice } from './update-device.js';
import { makeImage } from './update-fixtures.js';
import { FACTORY, Proxy, rigConfig, startRig, type Rig } from './update-rig.js';
import { Agent } from '../src/agent.js';
import { parseAgentConfig } from '../src/config.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';

describe('update offers refused before download', () => {
  let rig: Rig;
  let dir: string;
  let d: TestDevice;
  let proxy: Proxy;
  const image = makeImage(700_000, 9);
  let art: Awaited<ReturnType<Rig['artifact']>>;

  before(async () => {
    rig = await startRig();
    dir = tempDir('bulwark-update-offers-');
    proxy = new Proxy(Number(new URL(rig.hub.url).port));
    await proxy.start();
    art = await rig.artifact(image);
    d = await startDevice(rig, dir, 'offers', { hubUrl: `https://127.0.0.1:${proxy.port}` });
  });
  after(async () => {
    await d?.stop();
    await proxy?.stop();
    await rig?.close();
    cleanup(dir);
  });

  /** The install record is absent or idle, slot b holds nothing, and no image was requested. */
  async function untouched(): Promise<void> {
    assert.deepEqual(d.fetches, [], 'no image request');
    const files = await DirFiles.open(join(dir, 'state'));
    const raw = await files.read('update/install.json');
    if (raw !== undefined)
      assert.notEqual(
        (JSON.parse(Buffer.from(raw).toString()) as { state: string }).state,
        'downloading',
      );
    assert.equal(await d.slots.imageSize('b'), 0);
    const c = await d.slots.readControl();
    assert.equal(c.primary, 'a');
    assert.equal(c.slots.a.good, true);
  }

  const cases: [string, () => string, string][] = [
    ['wrong type', () => rig.signing.release(image, { types: ['camera'] }), 'wrong_type'],
    ['wrong hardware', () => rig.signing.release(image, { hardware: ['rev-b'] }), 'wrong_hardware'],
    [
      'a downgrade',
      () => rig.signing.release(image, { releaseCounter: FACTORY.counter - 1 }),
      'downgrade',
    ],
    [
      'below the minimum version',
      () => rig.signing.release(image, { minVersion: '1.5.0' }),
      'below_min_version',
    ],
    [
      'an unknown key',
      () => rig.signing.release(image, {}, rig.signing.strangerKey),
      'unknown_key',
    ],
    [
      'expired metadata',
      () => rig.signing.release(image, { expires: new Date(Date.now() - 60_000).toISOString() }),
      'expired',
    ],
    [
      'tampered metadata',
      () => {
        const m = JSON.parse(rig.signing.release(image)) as { signed: { expires: string } };
        m.signed.expires = expiryAfter(400 * 86400);
        return JSON.stringify(m);
      },
      'bad_signature',
    ],
  ];
  for (const [what, metadata, reason] of cases) {
    it(`refuses ${what} with ${reason}, nothing downloaded`, async () => {
      const job = `job-${reason}`;
      rig.send(d.deviceId, job, rig.offer(job, { ...art, metadata: metadata() }));
      const s = await finalStatus(rig, d, job);
      assert.equal(s.state, 'rejected');
      assert.equal(s.reason, reason, s.message);
      assert.ok((s.message ?? '').length > 0);
      await untouched();
    });
  }

  it('refuses a root that the pinned root does not sign (untrusted_root)', async () => {
    const other = rig.signing.rootDoc({
      root: rig.signing.strangerKey,
      release: rig.signing.strangerKey,
    });
    const job = 'job-root';
    const metadata = rig.signing.release(image, {}, rig.signing.strangerKey);
    rig.send(
      d.deviceId,
      job,
      rig.offer(job, { ...art, metadata }, { root: JSON.stringify(other) }),
    );
    const s = await finalStatus(rig, d, job);
    assert.equal(s.state, 'rejected');
    assert.equal(s.reason, 'untrusted_root', s.message);
    await untouched();
  });

  it('refuses a malformed offer and an image path off the hub', async () => {
    rig.send(d.deviceId, 'job-junk', { action: 'install', id: 'job-junk' });
    assert.equal((await finalStatus(rig, d, 'job-junk')).reason, 'malformed');
    rig.send(
      d.deviceId,
      'job-far',
      rig.offer('job-far', { ...art, imagePath: 'https://example.com/x' }),
    );
    assert.equal((await finalStatus(rig, d, 'job-far')).reason, 'malformed');
    await untouched();
  });

  it('installs one job at a time (busy), answers a re-delivery the same, cancels before installing', async () => {
    proxy.stalled = true; // the download hangs: the job stays in `downloading`
    rig.send(d.deviceId, 'job-a', rig.offer('job-a', art));
    await waitFor(
      () => rig.statuses(d.deviceId, 'job-a').some((s) => s.state === 'downloading'),
      'downloading',
    );
    rig.send(d.deviceId, 'job-b', rig.offer('job-b', art));
    const b = await finalStatus(rig, d, 'job-b');
    assert.deepEqual([b.state, b.reason], ['rejected', 'busy']);
    // A re-delivery of the refused job gets the same answer; of the running one, its state.
    rig.send(d.deviceId, 'job-b', rig.offer('job-b', art));
    await waitFor(() => rig.statuses(d.deviceId, 'job-b').length === 2, 'the repeated answer');
    assert.deepEqual(rig.statuses(d.deviceId, 'job-b')[1], b);
    rig.send(d.deviceId, 'job-a', { action: 'cancel', id: 'job-a' });
    const a = await finalStatus(rig, d, 'job-a');
    proxy.release();
    assert.equal(a.state, 'canceled');
    const c = await d.slots.readControl();
    assert.deepEqual([c.primary, c.slots.a.good, c.slots.b.good], ['a', true, false]);
    assert.equal(await d.slots.readManifest('b'), undefined);
    assert.equal(d.reboots, 0);
  });

  it('accepts a root rotation the pinned root signs, then refuses the old root', async () => {
    const metadata = rig.signing.release(image, {}, rig.signing.nextReleaseKey);
    const root = JSON.stringify(rig.signing.rotatedRootDoc());
    rig.send(d.deviceId, 'job-rot', rig.offer('job-rot', { ...art, metadata }, { root }));
    const s = await finalStatus(rig, d, 'job-rot', 60_000);
    assert.equal(s.state, 'succeeded', s.message);
    assert.equal(s.installed?.version, '2.0.0');
    // The old root (version 1) is no longer trusted, even with metadata it signs.
    rig.send(
      d.deviceId,
      'job-old',
      rig.offer('job-old', { ...art, metadata: rig.signing.release(image) }),
    );
    const old = await finalStatus(rig, d, 'job-old');
    assert.deepEqual([old.state, old.reason], ['rejected', 'untrusted_root']);
  });

  it('refuses every offer with updates_not_supported on a device without slots', async () => {
    const plain = tempDir('bulwark-update-noslots-');
    const { deviceId, token } = await rig.device('no-slots');
    const { update: _update, ...cfg } = rigConfig(rig, plain, token);
    const a = new Agent({
      config: parseAgentConfig(cfg),
      files: await DirFiles.open(join(plain, 'state')),
      system: new SyntheticSystem(),
    });
    try {
      await a.start();
      await a.whenConnected(20_000);
      rig.send(deviceId, 'job-plain', rig.offer('job-plain', art));
      const s = await finalStatus(rig, { deviceId } as TestDevice, 'job-plain');
      assert.deepEqual([s.state, s.reason], ['rejected', 'updates_not_supported']);
      await waitFor(() => rig.installed(deviceId).length > 0, 'the firmware report');
      assert.deepEqual(rig.installed(deviceId)[0], {
        type: 'sensor',
        version: '1.0.0',
        releaseCounter: 0,
      });
    } finally {
      await a.stop();
      cleanup(plain);
    }
  });
});
