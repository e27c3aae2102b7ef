/**
 * Rollouts and the auto-upgrade policy on a real in-process hub (decision 0011): bad requests
 * refused with precise codes; phases with a success gate and maxConcurrent; a new image failing its
 * health check is rolled back, counted as failed, and the rollout pauses at the threshold and starts
 * nothing while paused; resume goes on; a device joining the target later gets a job; `rebooting`
 * is never a success; cancel; auto-upgrade on call-home.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutService, type UpdateJobRecord } from '@bulwark/core';
import { raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { drive, eventually, firmwarePublisher } from './rollout-helpers.js';

describe('rollouts', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let token: string;
  let v2: { id: string };
  let pending: { id: string };
  let pub: Awaited<ReturnType<typeof firmwarePublisher>>;

  // The timer is slow; each test steps the rollouts itself through the runner.
  before(async () => {
    t = await startTestHub(['--rollout-tick-ms', '60000']);
    s = await setupOwner(t);
    token = s.tokens.accessToken;
    pub = await firmwarePublisher(s.owner);
    v2 = await pub.publish('2.0.0', ['gateway', 'sensor'], 2);
    pending = (await pub.pending('2.1.0', ['gateway'], 3)).artifact;
  });
  after(() => t.close());

  const gateways = async (n: number, prefix: string, over: { tags?: string[] } = {}) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = await s.api.devices.create({
        name: `${prefix}-${i}`,
        type: 'gateway',
        firmwareVersion: '1.0.0',
        ...(over.tags ? { tags: over.tags } : {}),
      });
      out.push(d.id);
    }
    return out;
  };
  const jobsOf = (rolloutId: string): Promise<UpdateJobRecord[]> =>
    t.hub.storage.updateJobs.list(s.orgId, { rolloutId, limit: 1000 });
  const open = async (rolloutId: string) =>
    (await jobsOf(rolloutId)).filter(
      (j) =>
        !['succeeded', 'failed', 'rolled_back', 'rejected', 'canceled', 'timed_out'].includes(
          j.state,
        ),
    );
  const tick = () => t.hub.rolloutRunner.tick();

  it('refuses bad rollouts with precise codes and stores nothing', async () => {
    const post = (body: unknown) => raw(t, 'POST', '/rollouts', body, token);
    const target = { type: 'gateway' };
    const cases: [unknown, string][] = [
      [{ artifactId: v2.id, target, phases: [{ percent: 50 }] }, 'rollout_phases_invalid'],
      [
        { artifactId: v2.id, target, phases: [{ percent: 60 }, { percent: 20 }, { percent: 100 }] },
        'rollout_phases_invalid',
      ],
      [
        {
          artifactId: v2.id,
          target,
          window: { start: '01:00', end: '02:00', timezone: 'Mars/Base' },
        },
        'rollout_window_invalid',
      ],
      [{ artifactId: v2.id, target: { type: 'camera' } }, 'rollout_type_mismatch'],
      [
        { artifactId: v2.id, target: { deviceIds: ['01890000-0000-7000-8000-000000000000'] } },
        'rollout_target_invalid',
      ],
      [{ artifactId: v2.id, target: {} }, 'validation_failed'],
      [{ artifactId: pending.id, target }, 'firmware_artifact_not_ready'],
      [{ artifactId: v2.id, target, maxConcurrent: 0 }, 'validation_failed'],
    ];
    for (const [body, code] of cases) {
      const r = await post(body);
      assert.equal(r.json['code'], code, `${JSON.stringify(body)}: ${r.text}`);
    }
    assert.deepEqual((await s.owner.rollouts.list()).items, []);
  });

  it('phases, gate and concurrency; health-check failures pause it at the threshold; resume goes on', async () => {
    const ids = await gateways(6, 'gw', { tags: ['fleet-a'] });
    const r = await s.owner.rollouts.create({
      artifactId: v2.id,
      target: { tags: ['fleet-a'] },
      phases: [{ name: 'canary', count: 2, successGate: 50 }, { percent: 100 }],
      maxConcurrent: 2,
      failureThreshold: { percent: 50, minDevices: 3 },
    });
    assert.equal(r.state, 'running');
    assert.equal(r.progress?.total, 6);

    await tick();
    const canary = await jobsOf(r.id);
    assert.equal(canary.length, 2);
    assert.ok(canary.every((j) => j.origin === 'rollout' && ids.includes(j.deviceId)));
    const [a, b] = canary.sort((x, y) => (x.deviceId < y.deviceId ? -1 : 1)) as [
      UpdateJobRecord,
      UpdateJobRecord,
    ];
    // Rebooting is not a success: the phase is not finished, nothing more starts.
    await drive(t, a, ['delivered', 'downloading', 'downloaded', 'installing', 'rebooting']);
    await drive(t, b, ['delivered', 'installing', 'rebooting']);
    await tick();
    let g = await s.owner.rollouts.get(r.id);
    assert.equal(g.progress?.succeeded, 0);
    assert.equal(g.progress?.inFlight, 2);
    assert.equal((await jobsOf(r.id)).length, 2);

    // One succeeds, one fails its health check and rolls back: 1 of 2 meets the 50% gate.
    await drive(t, a, ['succeeded'], { version: '2.0.0' });
    await drive(t, b, ['rolled_back'], { version: '1.0.0' });
    await tick();
    g = await s.owner.rollouts.get(r.id);
    assert.equal(g.progress?.succeeded, 1);
    assert.equal(g.progress?.failed, 1);
    assert.equal(g.progress?.states['rolled_back'], 1);
    const wave = await open(r.id);
    assert.equal(wave.length, 2, 'maxConcurrent');

    // Both roll back: 3 failures of 4 finished ≥ 50% after ≥ 3 → paused, alert raised.
    for (const j of wave)
      await drive(t, j, ['delivered', 'installing', 'rebooting', 'rolled_back']);
    await tick();
    g = await s.owner.rollouts.get(r.id);
    assert.equal(g.state, 'paused');
    assert.equal(g.pauseReason, 'failure_threshold');
    assert.equal(g.pauseDetail?.['failures'], 3);
    const alerts = await s.api.alerts.list({ state: 'open' });
    assert.ok(alerts.items.some((al) => al.kind === 'rollout_paused'));
    const audit = await s.owner.audit.list({});
    assert.ok(audit.items.some((e) => e.action === 'rollout.paused' && e.actorType === 'system'));

    // Paused: no new jobs, however often it ticks.
    await tick();
    await tick();
    assert.equal((await jobsOf(r.id)).length, 4);

    // Resume: earlier failures stop counting, the last two devices get jobs.
    const resumed = await s.owner.rollouts.resume(r.id);
    assert.equal(resumed.state, 'running');
    await tick();
    assert.equal((await jobsOf(r.id)).length, 6);
    assert.equal(
      (await s.api.alerts.list({ state: 'open' })).items.some((al) => al.kind === 'rollout_paused'),
      false,
    );

    // A device that joins the target later is included.
    for (const j of await open(r.id)) await drive(t, j, ['succeeded'], { version: '2.0.0' });
    const [late] = await gateways(1, 'late', { tags: ['fleet-a'] });
    await tick();
    const lateJob = (await open(r.id)).find((j) => j.deviceId === late);
    assert.ok(lateJob, 'the late device has a job');
    g = await s.owner.rollouts.get(r.id);
    assert.equal(g.progress?.total, 7);
    assert.equal(g.state, 'running', 'failed devices keep it from completing');
  });

  it('completes when every target device succeeded or already ran the version', async () => {
    const [d1, d2] = await gateways(2, 'cmp');
    await s.api.devices.update(d2!, { firmwareVersion: '2.0.0' });
    const r = await s.owner.rollouts.create({
      artifactId: v2.id,
      target: { deviceIds: [d1!, d2!] },
    });
    await tick();
    const jobs = await jobsOf(r.id);
    assert.deepEqual(
      jobs.map((j) => j.deviceId),
      [d1],
      'no job for the device already on 2.0.0',
    );
    await drive(t, jobs[0]!, ['delivered', 'installing', 'rebooting']);
    await tick();
    assert.equal((await s.owner.rollouts.get(r.id)).state, 'running');
    await drive(t, jobs[0]!, ['succeeded'], { version: '2.0.0' });
    await tick();
    const done = await s.owner.rollouts.get(r.id);
    assert.equal(done.state, 'completed');
    assert.equal(done.progress?.percentDone, 100);
  });

  it('cancel ends it and cancels its jobs that have not started installing', async () => {
    const ids = await gateways(3, 'cxl', { tags: ['fleet-c'] });
    // The console's live views follow these events (the rollout's own and its jobs').
    const seen: string[] = [];
    const stop = t.hub.services.events.listen((e) => {
      if (e.type === 'rollout.transition') seen.push(`${e.rolloutId} ${e.state}`);
      if (e.type === 'update_job.transition' && e.rolloutId !== null)
        seen.push(`${e.rolloutId} job ${e.state}`);
    });
    const r = await s.owner.rollouts.create({ artifactId: v2.id, target: { tags: ['fleet-c'] } });
    await tick();
    const jobs = await jobsOf(r.id);
    assert.equal(jobs.length, 3);
    const installing = jobs.find((j) => j.deviceId === ids[0])!;
    await drive(t, installing, ['delivered', 'installing']);
    const c = await s.owner.rollouts.cancel(r.id);
    assert.equal(c.state, 'canceled');
    const after = await jobsOf(r.id);
    assert.equal(after.filter((j) => j.state === 'canceled').length, 2);
    assert.equal(after.find((j) => j.id === installing.id)?.state, 'installing');
    const again = await raw(t, 'POST', `/rollouts/${r.id}/resume`, {}, token);
    assert.equal(again.json['code'], 'rollout_state_conflict');
    await tick();
    assert.equal((await jobsOf(r.id)).length, 3);
    stop();
    assert.ok(seen.includes(`${r.id} canceled`), seen.join(', '));
    assert.equal(seen.filter((x) => x === `${r.id} job canceled`).length, 2);
    assert.ok(seen.includes(`${r.id} job installing`));
  });

  it('pauses, saying why, when its target location is deleted', async () => {
    const loc = await s.api.locations.create({ name: 'Empty site', kind: 'site' });
    const r = await s.owner.rollouts.create({ artifactId: v2.id, target: { location: loc.id } });
    await tick();
    assert.equal((await s.owner.rollouts.get(r.id)).state, 'running', 'an empty target waits');
    await s.api.locations.delete(loc.id);
    await tick();
    const g = await s.owner.rollouts.get(r.id);
    assert.equal(g.state, 'paused');
    assert.equal(g.pauseReason, 'target_location_missing');
    await s.owner.rollouts.cancel(r.id);
  });

  it('starts no work with expired metadata: a running rollout pauses; deploy, rollout, policy refused', async () => {
    // Valid for a minute of the hub's (fake) clock, which earlier tests may have moved on.
    const ahead = Math.ceil((t.clock.now() - Date.now()) / 1000);
    const soon = await pub.publish('2.2.0', ['gateway'], 4, { expiresInSeconds: ahead + 60 });
    const [device = ''] = await gateways(1, 'expiring', { tags: ['fleet-x'] });
    const r = await s.owner.rollouts.create({ artifactId: soon.id, target: { tags: ['fleet-x'] } });
    t.clock.advance(120_000);
    await tick();
    const g = await s.owner.rollouts.get(r.id);
    assert.equal(g.state, 'paused');
    assert.equal(g.pauseReason, 'artifact_expired');
    assert.equal((await jobsOf(r.id)).length, 0, 'no job that the device could only refuse');
    const e = await rejectsWith(
      s.owner.updates.deploy(device, soon.id),
      'firmware_metadata_expired',
    );
    assert.match(e.message, /sign the release again/);
    await rejectsWith(
      s.owner.rollouts.create({ artifactId: soon.id, target: { tags: ['fleet-x'] } }),
      'firmware_metadata_expired',
    );
    await rejectsWith(
      s.owner.firmware.policies.set('gateway', soon.id),
      'firmware_metadata_expired',
    );
    await s.owner.rollouts.cancel(r.id);
  });

  it('one node steps a rollout at a time: another takes over only when its lease lapses', async () => {
    await gateways(2, 'lease', { tags: ['fleet-l'] });
    const r = await s.owner.rollouts.create({
      artifactId: v2.id,
      target: { tags: ['fleet-l'] },
      maxConcurrent: 1,
    });
    const nodeB = new RolloutService({
      storage: t.hub.storage,
      clock: t.clock,
      devices: t.hub.services.devices,
      jobs: t.hub.services.updates,
      jobStore: t.hub.storage.updateJobs,
      audit: t.hub.services.audit,
      alerts: t.hub.services.alerts,
      nodeId: 'node-b',
    });
    await tick();
    const mine = await jobsOf(r.id);
    assert.equal(mine.length, 1);
    assert.equal((await nodeB.tick()).stepped, 0, 'node A holds the lease');
    await drive(t, mine[0]!, ['succeeded'], { version: '2.0.0' });
    t.clock.advance(31_000);
    const b = await nodeB.tick();
    assert.ok(b.stepped >= 1 && b.started === 1, JSON.stringify(b));
    assert.equal((await jobsOf(r.id)).length, 2);
    await s.owner.rollouts.cancel(r.id);
  });
});

describe('auto-upgrade policy', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let v2: { id: string };

  before(async () => {
    t = await startTestHub(['--rollout-tick-ms', '60000']);
    s = await setupOwner(t);
    const pub = await firmwarePublisher(s.owner);
    v2 = await pub.publish('2.0.0', ['sensor'], 2);
  });
  after(() => t.close());

  it('updates a device calling home on an older version, not one on the current version', async () => {
    const known = await s.api.devices.create({
      name: 'known',
      type: 'sensor',
      firmwareVersion: '1.0.0',
    });
    const policy = await s.owner.firmware.policies.set('sensor', v2.id);
    assert.equal(policy.version, '2.0.0');
    // Set: an offline device gets it when it calls home, not at once.
    assert.deepEqual(
      await t.hub.storage.updateJobs.list(s.orgId, { deviceId: known.id, limit: 5 }),
      [],
    );

    const old = await s.api.devices.create({ name: 'old', type: 'sensor' });
    const cur = await s.api.devices.create({ name: 'cur', type: 'sensor' });
    const report = (id: string, version: string) =>
      t.hub.services.updates.installedReported(s.orgId, id, {
        type: 'sensor',
        version,
        releaseCounter: 1,
      });
    await report(old.id, '1.5.0');
    await report(cur.id, '2.0.0');
    const job = await eventually(
      async () => (await t.hub.storage.updateJobs.list(s.orgId, { deviceId: old.id, limit: 5 }))[0],
    );
    assert.equal(job.origin, 'auto-upgrade');
    assert.equal(job.artifactId, v2.id);
    assert.equal(job.rolloutId, null);
    // A failed auto-upgrade is not offered again on the next call-home (no install/rollback loop).
    await drive(t, job, ['delivered', 'installing', 'rebooting', 'rolled_back'], {
      version: '1.5.0',
      type: 'sensor',
    });
    await report(old.id, '1.5.0');
    await t.hub.rolloutRunner.stop(); // drains pending listener work
    assert.equal(
      (await t.hub.storage.updateJobs.list(s.orgId, { deviceId: old.id, limit: 5 })).length,
      1,
    );
    assert.deepEqual(
      await t.hub.storage.updateJobs.list(s.orgId, { deviceId: cur.id, limit: 5 }),
      [],
    );

    const list = await s.owner.firmware.policies.list();
    assert.deepEqual(
      list.items.map((p) => [p.type, p.artifactId]),
      [['sensor', v2.id]],
    );
    await s.owner.firmware.policies.clear('sensor');
    assert.deepEqual((await s.owner.firmware.policies.list()).items, []);
    const r = await raw(t, 'DELETE', '/firmware/policies/sensor', undefined, s.tokens.accessToken);
    assert.equal(r.json['code'], 'not_found');
    const mismatch = await raw(
      t,
      'POST',
      '/firmware/policies/camera',
      { artifactId: v2.id },
      s.tokens.accessToken,
    );
    assert.equal(mismatch.json['code'], 'rollout_type_mismatch');
  });

  it('offers again after a job timed out (the device was away), not after a rollback', async () => {
    // A policy's jobs are those since it was set: past the test before's (the clock is fake).
    t.clock.advance(1000);
    await s.owner.firmware.policies.set('sensor', v2.id);
    const d = await s.api.devices.create({ name: 'away', type: 'sensor' });
    const called = () =>
      t.hub.services.firmwarePolicies.deviceReported(s.orgId, d.id, { version: '1.0.0' });
    assert.equal(await called(), true);
    assert.equal(await called(), false, 'an open job goes first');
    t.clock.advance(25 * 3600_000);
    assert.equal(await t.hub.services.updates.sweepOverdue(t.clock.now()), 1);
    assert.equal(await called(), true, 'timed out: offered again');
    const [job] = await t.hub.storage.updateJobs.list(s.orgId, { deviceId: d.id, limit: 1 });
    await drive(t, job!, ['delivered', 'installing', 'rebooting', 'rolled_back']);
    assert.equal(await called(), false, 'rolled back: not again');
    t.clock.advance(1000);
    await s.owner.firmware.policies.set('sensor', v2.id);
    assert.equal(await called(), true, 'set anew: offered again');
  });
});

describe('the rollout runner', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--rollout-tick-ms', '100']);
  });
  after(() => t.close());

  it('steps running rollouts on its timer', async () => {
    const s = await setupOwner(t);
    const pub = await firmwarePublisher(s.owner);
    const v2 = await pub.publish('2.0.0', ['gateway'], 2);
    const d = await s.api.devices.create({ name: 'timed', type: 'gateway' });
    const r = await s.owner.rollouts.create({ artifactId: v2.id, target: { deviceIds: [d.id] } });
    const [job] = await eventually(async () => {
      const jobs = await t.hub.storage.updateJobs.list(s.orgId, { rolloutId: r.id, limit: 5 });
      return jobs.length > 0 ? jobs : undefined;
    });
    assert.equal(job?.deviceId, d.id);
  });
});
