/**
 * The auto-upgrade policy honours a rollout's limits (issue 13, decision 0011), on a real
 * in-process hub (SQLite): `set` with maxConcurrent 2 on five online devices starts 2 jobs, the
 * tick starts more as they end; a closed window starts nothing until it opens; a rate; failures over
 * the threshold pause the policy (audit, alert), nothing starts while paused, resume goes on; bad
 * options are refused with precise codes and change nothing; another organization sees nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UpdateJobRecord } from '@bulwark/core';
import { isTerminalUpdateState } from '@bulwark/protocol';
import { PASSWORD, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { drive, firmwarePublisher } from './rollout-helpers.js';

const TYPES = ['gwa', 'gwb', 'gwc', 'gwd', 'gwe', 'gwf'];

describe('auto-upgrade limits', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let v2: { id: string };

  // The timer is slow; each test steps the policies itself through the runner.
  before(async () => {
    t = await startTestHub(['--rollout-tick-ms', '60000']);
    s = await setupOwner(t);
    v2 = await (await firmwarePublisher(s.owner)).publish('2.0.0', TYPES, 2);
  });
  after(() => t.close());

  /** `n` devices of `type` on 1.0.0, online. */
  const online = async (type: string, n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = await s.api.devices.create({
        name: `${type}-${i}`,
        type,
        firmwareVersion: '1.0.0',
      });
      const now = t.clock.now();
      await t.hub.storage.presence.put({
        orgId: s.orgId,
        deviceId: d.id,
        online: true,
        mode: null,
        since: now,
        lastSeenAt: now,
        sessionId: `session-${d.id}`,
        metrics: null,
      });
      out.push(d.id);
    }
    return out;
  };
  const jobsOf = async (ids: string[]): Promise<UpdateJobRecord[]> => {
    const out: UpdateJobRecord[] = [];
    for (const deviceId of ids)
      out.push(...(await t.hub.storage.updateJobs.list(s.orgId, { deviceId, limit: 10 })));
    return out;
  };
  const open = async (ids: string[]) =>
    (await jobsOf(ids)).filter((j) => !isTerminalUpdateState(j.state));
  const tick = () => t.hub.rolloutRunner.tick();
  const reported = (deviceId: string) =>
    t.hub.services.firmwarePolicies.deviceReported(s.orgId, deviceId, { version: '1.0.0' });

  it('five online devices, maxConcurrent 2: set starts 2 jobs, not 5; more as jobs end', async () => {
    const ids = await online('gwa', 5);
    const p = await s.owner.firmware.policies.set('gwa', v2.id, { maxConcurrent: 2 });
    assert.equal(p.state, 'active');
    assert.equal(p.maxConcurrent, 2);
    let jobs = await jobsOf(ids);
    assert.equal(jobs.length, 2, 'two, not five');
    assert.ok(jobs.every((j) => j.origin === 'auto-upgrade' && j.artifactId === v2.id));
    assert.equal(p.progress.inFlight, 2);

    // Held back: a call-home and the tick start nothing while two are in flight.
    const waiting = ids.filter((id) => !jobs.some((j) => j.deviceId === id));
    assert.equal(await reported(waiting[0]!), false);
    await tick();
    assert.equal((await jobsOf(ids)).length, 2);

    // `rebooting` is still in flight; a success frees a slot for the tick.
    await drive(t, jobs[0]!, ['delivered', 'installing', 'rebooting'], { type: 'gwa' });
    await tick();
    assert.equal((await jobsOf(ids)).length, 2);
    await drive(t, jobs[0]!, ['succeeded'], { version: '2.0.0', type: 'gwa' });
    await tick();
    jobs = await jobsOf(ids);
    assert.equal(jobs.length, 3);
    assert.equal((await open(ids)).length, 2);
    const status = await s.owner.firmware.policies.get('gwa');
    assert.deepEqual(
      [status.progress.inFlight, status.progress.succeeded, status.progress.failed],
      [2, 1, 0],
    );
    assert.equal(status.progress.nextEligibleAt, null);
  });

  it('a closed window starts nothing until it opens; status says when', async () => {
    const ids = await online('gwb', 3);
    // A one-hour window starting 90 minutes from the (fake) clock's now, every day, UTC.
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const opens = Math.ceil((t.clock.now() + 90 * 60_000) / 60_000) * 60_000;
    const window = { start: hhmm(opens), end: hhmm(opens + 3600_000), timezone: 'UTC' };
    const p = await s.owner.firmware.policies.set('gwb', v2.id, { maxConcurrent: 5, window });
    assert.equal((await jobsOf(ids)).length, 0);
    assert.equal(p.progress.windowOpen, false);
    assert.equal(p.progress.nextEligibleAt, new Date(opens).toISOString());
    assert.equal(await reported(ids[0]!), false, 'a call-home is held back too');
    await tick();
    assert.equal((await jobsOf(ids)).length, 0);

    t.clock.advance(opens - t.clock.now());
    await tick();
    assert.equal((await jobsOf(ids)).length, 3, 'the window opened: all three (under 5)');
    assert.equal((await s.owner.firmware.policies.get('gwb')).progress.windowOpen, true);
  });

  it('a rate of 1/min starts one job a minute', async () => {
    const ids = await online('gwc', 3);
    await s.owner.firmware.policies.set('gwc', v2.id, { maxConcurrent: 10, ratePerMinute: 1 });
    assert.equal((await jobsOf(ids)).length, 1);
    const held = await s.owner.firmware.policies.get('gwc');
    assert.equal(
      held.progress.nextEligibleAt,
      new Date((await jobsOf(ids))[0]!.createdAt + 60_000).toISOString(),
    );
    await tick();
    assert.equal((await jobsOf(ids)).length, 1);
    t.clock.advance(61_000);
    await tick();
    assert.equal((await jobsOf(ids)).length, 2);
  });

  it('failures over the threshold pause it: nothing starts, audit and alert; resume goes on', async () => {
    const ids = await online('gwd', 6);
    await s.owner.firmware.policies.set('gwd', v2.id, {
      maxConcurrent: 2,
      failureThreshold: { percent: 50, minDevices: 2 },
    });
    const first = await jobsOf(ids);
    assert.equal(first.length, 2);
    // One succeeds, one rolls back: 1 of 2 is 50% → paused at the next step.
    await drive(t, first[0]!, ['delivered', 'installing', 'rebooting', 'succeeded'], {
      version: '2.0.0',
      type: 'gwd',
    });
    await drive(t, first[1]!, ['delivered', 'installing', 'rebooting', 'rolled_back'], {
      version: '1.0.0',
      type: 'gwd',
    });
    await tick();
    const paused = await s.owner.firmware.policies.get('gwd');
    assert.equal(paused.state, 'paused');
    assert.equal(paused.pauseReason, 'failure_threshold');
    assert.equal(paused.pauseDetail?.['failures'], 1);
    assert.equal(paused.pauseDetail?.['finished'], 2);
    assert.equal(paused.pauseDetail?.['deviceId'], first[1]!.deviceId);
    assert.equal(paused.progress.nextEligibleAt, null);
    const alerts = await s.api.alerts.list({ state: 'open' });
    assert.ok(
      alerts.items.some(
        (a) => a.kind === 'auto_upgrade_paused' && a.deviceId === first[1]!.deviceId,
      ),
    );
    const audit = await s.owner.audit.list({});
    assert.ok(
      audit.items.some(
        (e) =>
          e.action === 'firmware_policy.paused' && e.actorType === 'system' && e.targetId === 'gwd',
      ),
    );

    // Paused: no job from the tick or a call-home, however often.
    const rest = ids.filter((id) => !first.some((j) => j.deviceId === id));
    await tick();
    assert.equal(await reported(rest[0]!), false);
    await tick();
    assert.equal((await jobsOf(ids)).length, 2);

    // Resume: the failure so far stops counting, two more start, the alert is resolved.
    const resumed = await s.owner.firmware.policies.resume('gwd');
    assert.equal(resumed.state, 'active');
    assert.equal(resumed.pauseReason, null);
    assert.equal((await open(ids)).length, 2);
    assert.equal((await jobsOf(ids)).length, 4);
    assert.equal(
      (await s.api.alerts.list({ state: 'open' })).items.some(
        (a) => a.kind === 'auto_upgrade_paused',
      ),
      false,
    );
    // The rolled-back device is not offered the same image again.
    assert.equal((await jobsOf([first[1]!.deviceId])).length, 1);
    const again = await raw(t, 'POST', '/firmware/policies/gwd/resume', {}, s.tokens.accessToken);
    assert.equal(again.status, 409);
    assert.equal(again.json['code'], 'rollout_state_conflict');
  });

  it('refuses bad limits with precise codes and changes nothing', async () => {
    const ids = await online('gwe', 2);
    await s.owner.firmware.policies.set('gwe', v2.id, { maxConcurrent: 1, ratePerMinute: 5 });
    const before = await s.owner.firmware.policies.get('gwe');
    const post = (body: Record<string, unknown>) =>
      raw(
        t,
        'POST',
        '/firmware/policies/gwe',
        { artifactId: v2.id, ...body },
        s.tokens.accessToken,
      );
    const cases: [Record<string, unknown>, string, RegExp?][] = [
      [{ maxConcurrent: 0 }, 'validation_failed'],
      [{ maxConcurrent: 10_001 }, 'validation_failed'],
      [{ ratePerMinute: 0 }, 'validation_failed'],
      [{ failureThreshold: { percent: 0, minDevices: 1 } }, 'validation_failed'],
      [{ failureThreshold: { percent: 20, minDevices: 0 } }, 'validation_failed'],
      [{ window: { start: '25:00', end: '01:00' } }, 'validation_failed'],
      [
        { window: { start: '01:00', end: '01:00', timezone: 'UTC' } },
        'rollout_window_invalid',
        /starts and ends at the same time/,
      ],
      [
        { window: { start: '01:00', end: '02:00', timezone: 'Mars/Base' } },
        'rollout_window_invalid',
        /unknown time zone Mars\/Base/,
      ],
      [{ bogus: 1 }, 'unknown_field'],
    ];
    for (const [body, code, message] of cases) {
      const r = await post(body);
      assert.equal(r.json['code'], code, `${JSON.stringify(body)}: ${r.text}`);
      if (message) assert.match(String(r.json['detail']), message);
    }
    const camera = await raw(
      t,
      'POST',
      '/firmware/policies/camera',
      { artifactId: v2.id, maxConcurrent: 3 },
      s.tokens.accessToken,
    );
    assert.equal(camera.json['code'], 'rollout_type_mismatch');
    const after = await s.owner.firmware.policies.get('gwe');
    assert.deepEqual(after, before, 'the policy is as it was');
    assert.equal((await jobsOf(ids)).length, 1);
    assert.deepEqual(
      (await s.owner.firmware.policies.list()).items.map((p) => p.type).includes('camera'),
      false,
    );
  });

  it('another organization sees, resumes and clears nothing of this one', async () => {
    await s.owner.firmware.policies.set('gwf', v2.id);
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const other = (
      await t.client().auth.login({
        email: 'owner@example.com',
        password: PASSWORD,
        organizationId: org2.id,
      })
    ).accessToken;
    assert.equal((await raw(t, 'GET', '/firmware/policies/gwf', undefined, other)).status, 404);
    assert.deepEqual(
      (await raw(t, 'GET', '/firmware/policies', undefined, other)).json['items'],
      [],
    );
    const resume = await raw(t, 'POST', '/firmware/policies/gwf/resume', {}, other);
    assert.equal(resume.json['code'], 'not_found');
    const set = await raw(t, 'POST', '/firmware/policies/gwf', { artifactId: v2.id }, other);
    assert.equal(set.json['code'], 'not_found');
    assert.equal((await raw(t, 'DELETE', '/firmware/policies/gwf', undefined, other)).status, 404);
    // The API key lacks firmware:update: it reads, it does not write.
    assert.equal((await s.api.firmware.policies.get('gwf')).type, 'gwf');
    const denied = await raw(t, 'POST', '/firmware/policies/gwf/resume', {}, s.apiKey);
    assert.equal(denied.status, 403);
    assert.equal((await s.owner.firmware.policies.get('gwf')).state, 'active');
  });
});
