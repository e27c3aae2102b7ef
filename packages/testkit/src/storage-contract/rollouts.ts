import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  newId,
  type FirmwareArtifactRecord,
  type FirmwarePolicyRecord,
  type RolloutRecord,
  type Storage,
} from '@bulwark/core';
import { T0, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const rolloutFx = (orgId: string, over: Partial<RolloutRecord> = {}): RolloutRecord => ({
  id: newId(),
  orgId,
  name: 'gateway 1.4.2',
  artifactId: newId(),
  target: { type: 'gateway', tags: ['eu', 'prod'], deviceIds: [newId()] },
  phases: [{ name: 'canary', count: 5, successGate: 90 }, { percent: 50 }, { percent: 100 }],
  maxConcurrent: 20,
  ratePerMinute: 60,
  failureThreshold: { percent: 12.5, minDevices: 4 },
  window: { days: ['mon', 'fri'], start: '22:00', end: '04:30', timezone: 'Europe/Berlin' },
  state: 'running',
  pauseReason: null,
  pauseDetail: null,
  baseline: { failures: 0, finished: 0, gatesWaived: 0 },
  createdBy: newId(),
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

async function seedArtifact(s: Storage, orgId: string): Promise<FirmwareArtifactRecord> {
  const a: FirmwareArtifactRecord = {
    id: newId(),
    orgId,
    name: 'gw.img',
    types: ['gateway'],
    hardware: [],
    version: '1.4.2',
    releaseCounter: 3,
    length: 10,
    sha256: randomBytes(32).toString('hex'),
    metadata: '{}',
    state: 'ready',
    blobKey: 'k',
    createdBy: newId(),
    createdAt: T0,
  };
  await s.firmware.createArtifact(a);
  return a;
}

/** RolloutStore and FirmwarePolicyStore (migration 8 and the auto-upgrade gate's migration). */
export function rolloutSuite(open: OpenStorage): void {
  describe('RolloutStore', () => {
    const s = useStorage(open);

    it('creates and reads a rollout, every field round-tripping, scoped to its organization', async () => {
      const org = await seedOrg(s());
      const r = rolloutFx(org.id);
      await s().rollouts.create(r);
      assert.deepEqual(await s().rollouts.get(org.id, r.id), r);
      const bare = rolloutFx(org.id, {
        ratePerMinute: null,
        window: null,
        phases: [{ percent: 100 }],
      });
      await s().rollouts.create(bare);
      assert.deepEqual(await s().rollouts.get(org.id, bare.id), bare);
      const other = await seedOrg(s());
      assert.equal(await s().rollouts.get(other.id, r.id), undefined);
    });

    it('lists newest first with a state filter and a `before` bound', async () => {
      const org = await seedOrg(s());
      const a = rolloutFx(org.id);
      const b = rolloutFx(org.id, { state: 'paused', pauseReason: 'x' });
      const c = rolloutFx(org.id);
      for (const r of [a, b, c]) await s().rollouts.create(r);
      const ids = (await s().rollouts.list(org.id, { limit: 10 })).map((r) => r.id);
      assert.deepEqual(ids, [c.id, b.id, a.id]);
      const running = await s().rollouts.list(org.id, { state: 'running', limit: 10 });
      assert.deepEqual(
        running.map((r) => r.id),
        [c.id, a.id],
      );
      const older = await s().rollouts.list(org.id, { before: c.id, limit: 1 });
      assert.deepEqual(
        older.map((r) => r.id),
        [b.id],
      );
    });

    it('lists the rollouts of one artifact, with or without a state', async () => {
      const org = await seedOrg(s());
      const artifactId = newId();
      const a = rolloutFx(org.id, { artifactId });
      const b = rolloutFx(org.id, { artifactId, state: 'paused', pauseReason: 'x' });
      const c = rolloutFx(org.id);
      for (const r of [a, b, c]) await s().rollouts.create(r);
      const of = async (q: { state?: 'running' | 'paused'; artifactId: string }) =>
        (await s().rollouts.list(org.id, { ...q, limit: 10 })).map((r) => r.id);
      assert.deepEqual(await of({ artifactId }), [b.id, a.id]);
      assert.deepEqual(await of({ artifactId, state: 'paused' }), [b.id]);
      assert.deepEqual(await of({ artifactId: c.artifactId }), [c.id]);
      assert.deepEqual(await of({ artifactId: newId() }), []);
    });

    it('updates only from an expected state, keeping the baseline unless given', async () => {
      const org = await seedOrg(s());
      const r = rolloutFx(org.id);
      await s().rollouts.create(r);
      const detail = { failures: 3, finished: 4, deviceId: newId() };
      const pause = {
        state: 'paused' as const,
        pauseReason: 'failure_threshold',
        pauseDetail: detail,
        updatedAt: T0 + 1,
      };
      assert.equal(await s().rollouts.update(org.id, r.id, ['paused'], pause), false);
      assert.equal(await s().rollouts.update(org.id, r.id, ['running'], pause), true);
      assert.deepEqual(await s().rollouts.get(org.id, r.id), { ...r, ...pause });
      const baseline = { failures: 3, finished: 4, gatesWaived: 1 };
      const resume = {
        state: 'running' as const,
        pauseReason: null,
        pauseDetail: null,
        baseline,
        updatedAt: T0 + 2,
      };
      assert.equal(await s().rollouts.update(org.id, r.id, ['paused'], resume), true);
      assert.deepEqual(await s().rollouts.get(org.id, r.id), { ...r, ...resume });
      const other = await seedOrg(s());
      assert.equal(await s().rollouts.update(other.id, r.id, ['running'], pause), false);
    });

    it('sweeps running rollouts hub-wide in id order, paged', async () => {
      const org1 = await seedOrg(s());
      const org2 = await seedOrg(s());
      const before = new Set((await s().rollouts.listRunning(1000)).map((r) => r.id));
      const a = rolloutFx(org1.id);
      const b = rolloutFx(org2.id);
      const c = rolloutFx(org1.id, { state: 'completed' });
      for (const r of [a, b, c]) await s().rollouts.create(r);
      const all = (await s().rollouts.listRunning(1000)).filter((r) => !before.has(r.id));
      assert.deepEqual(
        all.map((r) => r.id),
        [a.id, b.id],
      );
      const page = await s().rollouts.listRunning(1, a.id);
      assert.ok(page.every((r) => r.id > a.id));
    });

    it('grants the tick lease to one holder until it expires', async () => {
      const org = await seedOrg(s());
      const r = rolloutFx(org.id);
      await s().rollouts.create(r);
      assert.equal(await s().rollouts.lease(org.id, r.id, 'node-a', T0, T0 + 10_000), true);
      assert.equal(
        await s().rollouts.lease(org.id, r.id, 'node-b', T0 + 5_000, T0 + 15_000),
        false,
      );
      assert.equal(await s().rollouts.lease(org.id, r.id, 'node-a', T0 + 5_000, T0 + 15_000), true);
      assert.equal(
        await s().rollouts.lease(org.id, r.id, 'node-b', T0 + 15_001, T0 + 25_000),
        true,
      );
      assert.equal(
        await s().rollouts.lease(org.id, r.id, 'node-a', T0 + 16_000, T0 + 26_000),
        false,
      );
    });

    it("releases only one holder's leases, which another holder then takes at once", async () => {
      const org = await seedOrg(s());
      const [a, b, c] = [rolloutFx(org.id), rolloutFx(org.id), rolloutFx(org.id)];
      for (const r of [a, b, c]) await s().rollouts.create(r);
      const holder = `node-${newId()}`;
      const other = `node-${newId()}`;
      assert.equal(await s().rollouts.lease(org.id, a.id, holder, T0, T0 + 30_000), true);
      assert.equal(await s().rollouts.lease(org.id, b.id, holder, T0, T0 + 30_000), true);
      assert.equal(await s().rollouts.lease(org.id, c.id, other, T0, T0 + 30_000), true);
      assert.equal(await s().rollouts.releaseLeases(holder), 2);
      assert.equal(await s().rollouts.releaseLeases(holder), 0);
      const next = `node-${newId()}`;
      assert.equal(await s().rollouts.lease(org.id, a.id, next, T0 + 1, T0 + 30_001), true);
      assert.equal(await s().rollouts.lease(org.id, b.id, next, T0 + 1, T0 + 30_001), true);
      assert.equal(await s().rollouts.lease(org.id, c.id, next, T0 + 1, T0 + 30_001), false);
    });
  });

  describe('FirmwarePolicyStore', () => {
    const s = useStorage(open);

    it('sets, replaces, lists by type and clears the current artifact of a device type', async () => {
      const org = await seedOrg(s());
      const a1 = await seedArtifact(s(), org.id);
      const a2 = await seedArtifact(s(), org.id);
      const by = newId();
      assert.equal(await s().firmwarePolicies.get(org.id, 'gateway'), undefined);
      await s().firmwarePolicies.put(policyFx(org.id, a1.id, { setBy: by }));
      const replaced = policyFx(org.id, a2.id, {
        setBy: by,
        setAt: T0 + 1,
        ratePerMinute: 12,
        window: { days: ['sat', 'sun'], start: '02:00', end: '04:00', timezone: 'Europe/Paris' },
        state: 'paused',
        pauseReason: 'failure_threshold',
        pauseDetail: { failures: 2, finished: 3, percent: 20, deviceId: 'd' },
        baseline: { failures: 1, finished: 4 },
        updatedAt: T0 + 5,
      });
      await s().firmwarePolicies.put(replaced);
      await s().firmwarePolicies.put(
        policyFx(org.id, a1.id, { deviceType: 'camera', setAt: T0 + 2 }),
      );
      assert.deepEqual(await s().firmwarePolicies.get(org.id, 'gateway'), replaced);
      assert.deepEqual(
        (await s().firmwarePolicies.list(org.id)).map((p) => p.deviceType),
        ['camera', 'gateway'],
      );
      const other = await seedOrg(s());
      assert.equal(await s().firmwarePolicies.get(other.id, 'gateway'), undefined);
      assert.deepEqual(await s().firmwarePolicies.list(other.id), []);
      assert.equal(await s().firmwarePolicies.delete(other.id, 'gateway'), false);
      assert.equal(await s().firmwarePolicies.delete(org.id, 'gateway'), true);
      assert.equal(await s().firmwarePolicies.delete(org.id, 'gateway'), false);
      assert.equal(await s().firmwarePolicies.get(org.id, 'gateway'), undefined);
    });

    it('changes state compare-and-set on the state and on the policy still being the one set', async () => {
      const org = await seedOrg(s());
      const a = await seedArtifact(s(), org.id);
      const p = policyFx(org.id, a.id);
      await s().firmwarePolicies.put(p);
      const pause = {
        state: 'paused' as const,
        pauseReason: 'failure_threshold',
        pauseDetail: { failures: 1 },
        updatedAt: T0 + 9,
      };
      const update = s().firmwarePolicies.update.bind(s().firmwarePolicies);
      assert.equal(await update(org.id, 'gateway', T0 + 1, ['active'], pause), false, 'set anew');
      assert.equal(await update(org.id, 'gateway', T0, ['paused'], pause), false, 'wrong state');
      assert.equal(await update(org.id, 'gateway', T0, [], pause), false);
      assert.equal(await update(org.id, 'gateway', T0, ['active'], pause), true);
      assert.deepEqual(await s().firmwarePolicies.get(org.id, 'gateway'), { ...p, ...pause });
      const resume = {
        state: 'active' as const,
        pauseReason: null,
        pauseDetail: null,
        baseline: { failures: 1, finished: 2 },
        updatedAt: T0 + 10,
      };
      assert.equal(await update(org.id, 'gateway', T0, ['paused'], resume), true);
      assert.deepEqual(await s().firmwarePolicies.get(org.id, 'gateway'), { ...p, ...resume });
      assert.equal(await update(other(), 'gateway', T0, ['active'], pause), false);
    });

    it('wakes and settles for the tick: only active, awake policies are swept; a later wake is kept', async () => {
      const org = await seedOrg(s());
      const a = await seedArtifact(s(), org.id);
      const store = s().firmwarePolicies;
      // Hub-wide: other tests' policies may be there too, so look for ours.
      const awake = async () =>
        (await store.listAwake(1000)).filter((p) => p.orgId === org.id).map((p) => p.deviceType);
      const wakeOf = async (type: string) =>
        (await store.listAwake(1000)).find((p) => p.orgId === org.id && p.deviceType === type)
          ?.wake;
      await store.put(policyFx(org.id, a.id));
      await store.put(policyFx(org.id, a.id, { deviceType: 'camera' }));
      await store.put(policyFx(org.id, a.id, { deviceType: 'meter', state: 'paused' }));
      assert.deepEqual(await awake(), ['camera', 'gateway'], 'set: awake; paused: never swept');
      const w = (await wakeOf('gateway'))!;
      assert.equal(w.backlog, true);
      // A wake while the step ran: the policy stays awake with its backlog.
      await store.wake(org.id, 'gateway', true);
      await store.settle(org.id, 'gateway', w, { drained: true, idle: true });
      const w2 = (await wakeOf('gateway'))!;
      assert.equal(w2.backlog, true);
      await store.settle(org.id, 'gateway', w2, { drained: true, idle: false });
      const w3 = (await wakeOf('gateway'))!;
      assert.equal(w3.backlog, false, 'drained, still awake (jobs in flight)');
      await store.settle(org.id, 'gateway', w3, { drained: true, idle: true });
      assert.deepEqual(await awake(), ['camera']);
      await store.wake(org.id, 'gateway', false);
      assert.equal((await wakeOf('gateway'))?.backlog, false, 'awake without a backlog');
      await store.wake(org.id, 'gateway', true);
      assert.equal((await wakeOf('gateway'))?.backlog, true);
      // Paging by (org, type).
      const first = (await store.listAwake(1000)).findIndex((p) => p.orgId === org.id);
      const page = await store.listAwake(1000, { orgId: org.id, deviceType: 'camera' });
      assert.ok(first >= 0);
      assert.ok(page.some((p) => p.orgId === org.id && p.deviceType === 'gateway'));
      assert.ok(!page.some((p) => p.orgId === org.id && p.deviceType === 'camera'));
      // Resuming a paused policy wakes it with a backlog.
      const meter = (await store.get(org.id, 'meter'))!;
      await store.update(org.id, 'meter', meter.setAt, ['paused'], {
        state: 'active',
        pauseReason: null,
        pauseDetail: null,
        updatedAt: T0 + 1,
      });
      assert.equal((await wakeOf('meter'))?.backlog, true);
    });

    it('leases a policy to one holder at a time; a stopping node releases its leases', async () => {
      const org = await seedOrg(s());
      const a = await seedArtifact(s(), org.id);
      await s().firmwarePolicies.put(policyFx(org.id, a.id));
      const lease = s().firmwarePolicies.lease.bind(s().firmwarePolicies);
      const n1 = `node-${newId()}`;
      const n2 = `node-${newId()}`;
      assert.equal(await lease(org.id, 'gateway', n1, T0, T0 + 30_000), true);
      assert.equal(await lease(org.id, 'gateway', n2, T0 + 1, T0 + 30_001), false);
      assert.equal(await lease(org.id, 'gateway', n1, T0 + 2, T0 + 30_002), true, 'renewed');
      assert.equal(await lease(org.id, 'gateway', n2, T0 + 30_003, T0 + 60_000), true, 'lapsed');
      assert.equal(await lease(org.id, 'camera', n1, T0, T0 + 1), false, 'no such policy');
      assert.equal(await s().firmwarePolicies.releaseLeases(n2), 1);
      assert.equal(await lease(org.id, 'gateway', n1, T0 + 30_004, T0 + 60_000), true);
    });

    it('drops a policy with its artifact', async () => {
      const org = await seedOrg(s());
      const a = await seedArtifact(s(), org.id);
      await s().firmwarePolicies.put(policyFx(org.id, a.id));
      assert.equal(await s().firmware.deleteArtifact(org.id, a.id), true);
      assert.equal(await s().firmwarePolicies.get(org.id, 'gateway'), undefined);
    });
  });
}

const other = () => newId();

const policyFx = (
  orgId: string,
  artifactId: string,
  over: Partial<FirmwarePolicyRecord> = {},
): FirmwarePolicyRecord => ({
  orgId,
  deviceType: 'gateway',
  artifactId,
  setBy: 'user x',
  setAt: T0,
  maxConcurrent: 2,
  ratePerMinute: null,
  failureThreshold: { percent: 20, minDevices: 2 },
  window: null,
  state: 'active',
  pauseReason: null,
  pauseDetail: null,
  baseline: { failures: 0, finished: 0 },
  updatedAt: T0,
  ...over,
});
