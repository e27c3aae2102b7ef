/**
 * Rollouts and auto-upgrade end to end over MQTT (decision 0011): devices are MQTT.js clients with
 * their device keys that receive the hub's install offers and report as the agent does. The fault
 * case of issue 6: a new image that fails its health check is rolled back, counted as failed, and
 * the rollout pauses when the threshold is crossed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UpdateInstallOffer } from '@bulwark/protocol';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { eventually, publisher, updateDevice } from './updates-helpers.js';

type Device = Awaited<ReturnType<typeof updateDevice>>;

describe('rollouts over MQTT', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let fw: Awaited<ReturnType<typeof publisher>>;
  const closers: Array<() => void> = [];

  const online = async (name: string, type: string, version = '1.0.0') => {
    const d = await s.owner.devices.create({ name, type });
    const { key } = await s.owner.devices.createKey(d.id);
    const dev = await updateDevice(t, { id: d.id, key });
    closers.push(dev.end);
    await dev.installed({ type, version, releaseCounter: 1 });
    return { id: d.id, dev };
  };
  /** The device's job, from the hub, once it exists. */
  const jobFor = (deviceId: string) =>
    eventually(
      async () => (await t.hub.storage.updateJobs.list(s.orgId, { deviceId, limit: 1 }))[0],
      `a job for ${deviceId}`,
    );
  /** Plays the agent: download, install, reboot, then the health check's verdict. */
  const install = async (dev: Device, jobId: string, healthy: boolean, type: string) => {
    const offer = (await dev.next(jobId)) as UpdateInstallOffer;
    assert.equal(offer.action, 'install');
    for (const state of ['downloading', 'downloaded', 'installing', 'rebooting'])
      assert.equal(await dev.report(jobId, { state }), 0);
    const end = healthy
      ? { state: 'succeeded', installed: { type, version: '2.0.0', releaseCounter: 2 } }
      : {
          state: 'rolled_back',
          reason: 'health_check_failed',
          installed: { type, version: '1.0.0', releaseCounter: 1 },
        };
    assert.equal(await dev.report(jobId, end), 0);
  };
  const state = (jobId: string) =>
    t.hub.storage.updateJobs.get(s.orgId, jobId).then((j) => j?.state);

  before(async () => {
    t = await startTestHub(['--rollout-tick-ms', '60000']);
    s = await setupOwner(t);
    fw = await publisher(s.owner);
  });
  after(async () => {
    for (const c of closers) c();
    await t.close();
  });

  it('a failing health check is rolled back, counted failed, and pauses the rollout at the threshold', async () => {
    const { artifact } = await fw.artifact('2.0.0', ['cam']);
    const devices = [];
    for (let i = 0; i < 4; i++) devices.push(await online(`cam-${i}`, 'cam'));
    const r = await s.owner.rollouts.create({
      artifactId: artifact.id,
      target: { type: 'cam' },
      maxConcurrent: 3,
      failureThreshold: { percent: 50, minDevices: 2 },
    });
    await t.hub.rolloutRunner.tick();
    const started = await Promise.all(
      devices.slice(0, 3).map(async (d) => ({ d, job: await jobFor(d.id) })),
    );
    assert.deepEqual(
      await t.hub.storage.updateJobs.list(s.orgId, { deviceId: devices[3]!.id, limit: 1 }),
      [],
    );

    // One healthy, two fail their health check after rebooting into the new image.
    await install(started[0]!.d.dev, started[0]!.job.id, true, 'cam');
    await eventually(
      async () => ((await state(started[0]!.job.id)) === 'succeeded' ? true : undefined),
      'success',
    );
    const mid = await s.owner.rollouts.get(r.id);
    assert.equal(mid.progress?.succeeded, 1);
    assert.equal(mid.state, 'running');
    for (const { d, job } of started.slice(1)) await install(d.dev, job.id, false, 'cam');
    await eventually(
      async () => ((await state(started[2]!.job.id)) === 'rolled_back' ? true : undefined),
      'rollback',
    );
    await t.hub.rolloutRunner.tick();
    const paused = await s.owner.rollouts.get(r.id);
    assert.equal(paused.state, 'paused');
    assert.equal(paused.pauseReason, 'failure_threshold');
    assert.equal(paused.progress?.failed, 2);
    assert.equal(paused.progress?.states['rolled_back'], 2);
    // The devices say they run 1.0.0 again; the fourth device got nothing.
    const cam1 = await s.owner.devices.get(started[1]!.d.id);
    assert.equal(cam1.firmwareVersion, '1.0.0');
    await t.hub.rolloutRunner.tick();
    assert.deepEqual(
      await t.hub.storage.updateJobs.list(s.orgId, { deviceId: devices[3]!.id, limit: 1 }),
      [],
    );
  });

  it('auto-upgrade: a device calling home on an older version gets the current artifact', async () => {
    const { artifact } = await fw.artifact('2.0.0', ['meter']);
    // Online on 1.0.0 before the policy is set: updated when it is set.
    const early = await online('meter-early', 'meter');
    await eventually(
      async () =>
        (await s.owner.devices.get(early.id)).firmwareVersion === '1.0.0' ? true : undefined,
      'the report stored',
    );
    await s.owner.firmware.policies.set('meter', artifact.id);
    assert.equal((await jobFor(early.id)).origin, 'auto-upgrade');
    const old = await online('meter-old', 'meter');
    const job = await jobFor(old.id);
    assert.equal(job.origin, 'auto-upgrade');
    await install(old.dev, job.id, true, 'meter');
    await eventually(
      async () => ((await state(job.id)) === 'succeeded' ? true : undefined),
      'success',
    );
    // Calling home again on the new version starts nothing.
    await old.dev.installed({ type: 'meter', version: '2.0.0', releaseCounter: 2 });
    const fresh = await online('meter-new', 'meter', '2.0.0');
    await t.hub.rolloutRunner.stop(); // drains the listener's pending work
    assert.equal(
      (await t.hub.storage.updateJobs.list(s.orgId, { deviceId: old.id, limit: 5 })).length,
      1,
    );
    assert.deepEqual(
      await t.hub.storage.updateJobs.list(s.orgId, { deviceId: fresh.id, limit: 5 }),
      [],
    );
  });
});
