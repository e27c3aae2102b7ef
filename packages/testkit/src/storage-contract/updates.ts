import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_UPDATE_JOB_HISTORY, newId, type UpdateJobRecord } from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { rejectsWithCode, useStorage, type OpenStorage } from './harness.js';

const jobFx = (
  orgId: string,
  deviceId: string,
  over: Partial<Omit<UpdateJobRecord, 'actionId'>> = {},
): Omit<UpdateJobRecord, 'actionId'> => ({
  id: newId(),
  orgId,
  deviceId,
  artifactId: newId(),
  rolloutId: null,
  origin: 'deploy',
  state: 'queued',
  progress: null,
  reason: null,
  message: null,
  delta: null,
  history: [{ state: 'queued', at: T0, by: 'user x' }],
  cancelRequested: null,
  createdBy: 'user x',
  createdAt: T0,
  updatedAt: T0,
  deadline: T0 + 3_600_000,
  ...over,
});

/**
 * UpdateJobStore: hub-unique integer action ids, one open job per device (enforced by the
 * database), compare-and-set transitions (terminal states stick, history appended), filters,
 * rollout counts, the overdue sweep. Tenancy: another organization reads nothing.
 */
export function updateJobSuite(open: OpenStorage): void {
  describe('UpdateJobStore', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      return { org, device: await seedDevice(s(), org.id) };
    };

    it('creates with increasing action ids; one open job per device', async () => {
      const { org, device } = await seed();
      const other = await seedDevice(s(), org.id);
      const foreignOrgId = (await seedOrg(s())).id;
      const a = await s().updateJobs.create(jobFx(org.id, device.id));
      const b = await s().updateJobs.create(jobFx(org.id, other.id));
      assert.ok(Number.isSafeInteger(a.actionId) && a.actionId > 0);
      assert.ok(b.actionId > a.actionId);
      await rejectsWithCode(s().updateJobs.create(jobFx(org.id, device.id)), 'update_job_open');
      assert.deepEqual(await s().updateJobs.get(org.id, a.id), a);
      assert.deepEqual(await s().updateJobs.getByActionId(org.id, a.actionId), a);
      assert.deepEqual(await s().updateJobs.openForDevice(org.id, device.id), a);
      assert.deepEqual(
        await s().updateJobs.openForDevices(org.id, [device.id, other.id, newId()], 10),
        [a, b],
      );
      assert.deepEqual(await s().updateJobs.openForDevices(org.id, [device.id, other.id], 1), [a]);
      assert.deepEqual(await s().updateJobs.openForDevices(org.id, [], 10), []);
      assert.deepEqual(await s().updateJobs.openForDevices(foreignOrgId, [device.id], 10), []);
      // Once the open job is terminal, a new one may be created; a terminal one never blocks.
      assert.equal(
        await s().updateJobs.transition(org.id, a.id, { from: 'queued', to: 'canceled', at: T0 }),
        true,
      );
      assert.equal(await s().updateJobs.openForDevice(org.id, device.id), undefined);
      const c = await s().updateJobs.create(jobFx(org.id, device.id, { state: 'queued' }));
      assert.ok(c.actionId > b.actionId);
      const foreign = await seedOrg(s());
      assert.equal(await s().updateJobs.get(foreign.id, a.id), undefined);
      assert.equal(await s().updateJobs.getByActionId(foreign.id, a.actionId), undefined);
      assert.equal(await s().updateJobs.openForDevice(foreign.id, device.id), undefined);
      assert.deepEqual(await s().updateJobs.list(foreign.id, { limit: 10 }), []);
    });

    it('transitions compare-and-set; history, progress and reason kept; terminal sticks', async () => {
      const { org, device } = await seed();
      const j = await s().updateJobs.create(jobFx(org.id, device.id));
      const up = s().updateJobs;
      assert.equal(
        await up.transition(org.id, j.id, { from: 'delivered', to: 'downloading', at: T0 + 1 }),
        false,
      );
      assert.equal(
        await up.transition(org.id, j.id, {
          from: 'queued',
          to: 'downloading',
          at: T0 + 2,
          progress: { bytes: 0, total: 10 },
          entries: [{ state: 'downloading', at: T0 + 2 }],
        }),
        true,
      );
      // A progress-only change: no history entry.
      assert.equal(
        await up.transition(org.id, j.id, {
          from: 'downloading',
          to: 'downloading',
          at: T0 + 3,
          progress: { bytes: 5, total: 10 },
        }),
        true,
      );
      assert.equal(
        await up.transition(org.id, j.id, {
          from: 'downloading',
          to: 'rejected',
          at: T0 + 4,
          reason: 'bad_signature',
          message: 'no',
          delta: { totalBytes: 10, downloadedBytes: 4, reusedBytes: 6 },
          entries: [{ state: 'rejected', at: T0 + 4, reason: 'bad_signature', message: 'no' }],
        }),
        true,
      );
      const done = await up.get(org.id, j.id);
      assert.equal(done?.state, 'rejected');
      assert.deepEqual(done?.progress, { bytes: 5, total: 10 });
      assert.equal(done?.reason, 'bad_signature');
      assert.equal(done?.message, 'no');
      assert.deepEqual(done?.delta, { totalBytes: 10, downloadedBytes: 4, reusedBytes: 6 });
      assert.equal(done?.updatedAt, T0 + 4);
      assert.deepEqual(
        done?.history.map((h) => h.state),
        ['queued', 'downloading', 'rejected'],
      );
      assert.equal(
        await up.transition(org.id, j.id, { from: 'rejected', to: 'succeeded', at: T0 + 5 }),
        false,
        'nothing leaves a terminal state',
      );
      assert.equal((await up.get(org.id, j.id))?.state, 'rejected');
      const foreign = await seedOrg(s());
      assert.equal(
        await up.transition(foreign.id, j.id, { from: 'rejected', to: 'failed', at: T0 + 6 }),
        false,
      );
    });

    it('keeps a pending cancel request (set, checked, cleared) with the state unchanged', async () => {
      const { org, device } = await seed();
      const up = s().updateJobs;
      const j = await up.create(jobFx(org.id, device.id, { state: 'delivered' }));
      const request = { by: 'user u', at: T0 + 1 };
      const ask = {
        from: 'delivered' as const,
        to: 'delivered' as const,
        at: T0 + 1,
        cancelRequested: request,
        expectCancelRequested: false,
        entries: [
          {
            state: 'delivered' as const,
            at: T0 + 1,
            by: 'user u',
            event: 'cancel_requested' as const,
          },
        ],
      };
      assert.equal(await up.transition(org.id, j.id, ask), true);
      assert.equal(await up.transition(org.id, j.id, ask), false, 'already asked: refused');
      const asked = await up.get(org.id, j.id);
      assert.deepEqual(asked?.cancelRequested, request);
      assert.equal(asked?.state, 'delivered');
      assert.deepEqual(asked?.history.at(-1), ask.entries[0]);
      assert.deepEqual(await up.openForDevice(org.id, device.id), asked, 'still the open job');
      // The device refuses: the request goes, the job goes on.
      assert.equal(
        await up.transition(org.id, j.id, {
          from: 'delivered',
          to: 'downloading',
          at: T0 + 2,
          cancelRequested: null,
          expectCancelRequested: true,
          entries: [
            { state: 'delivered', at: T0 + 2, event: 'cancel_refused', reason: 'too_late' },
            { state: 'downloading', at: T0 + 2 },
          ],
        }),
        true,
      );
      const refused = await up.get(org.id, j.id);
      assert.equal(refused?.cancelRequested, null);
      assert.deepEqual(
        refused?.history.map((h) => [h.state, h.event ?? null]),
        [
          ['queued', null],
          ['delivered', 'cancel_requested'],
          ['delivered', 'cancel_refused'],
          ['downloading', null],
        ],
      );
    });

    it('keeps the history bounded: the oldest device messages go first, with a note', async () => {
      const { org, device } = await seed();
      const up = s().updateJobs;
      const j = await up.create(jobFx(org.id, device.id, { state: 'downloading' }));
      for (let i = 0; i < MAX_UPDATE_JOB_HISTORY + 20; i++) {
        assert.equal(
          await up.transition(org.id, j.id, {
            from: 'downloading',
            to: 'downloading',
            at: T0 + i,
            entries: [
              { state: 'downloading', at: T0 + i, event: 'feedback', message: `line ${i}` },
            ],
          }),
          true,
        );
      }
      const h = (await up.get(org.id, j.id))?.history ?? [];
      assert.equal(h.length, MAX_UPDATE_JOB_HISTORY);
      assert.deepEqual(h[0], { state: 'queued', at: T0, by: 'user x' });
      const note = h.find((e) => e.event === 'truncated');
      // 1 + N entries, MAX kept of which one is the note.
      assert.equal(note?.dropped, 1 + MAX_UPDATE_JOB_HISTORY + 20 - (MAX_UPDATE_JOB_HISTORY - 1));
      assert.equal(h.at(-1)?.message, `line ${MAX_UPDATE_JOB_HISTORY + 19}`);
    });

    it('lists newest first with filters; counts by rollout; finds overdue jobs', async () => {
      const { org, device } = await seed();
      const rolloutId = newId();
      const artifactId = newId();
      const d2 = await seedDevice(s(), org.id);
      const d3 = await seedDevice(s(), org.id);
      const j1 = await s().updateJobs.create(
        jobFx(org.id, device.id, { rolloutId, origin: 'rollout', artifactId, deadline: T0 + 10 }),
      );
      await s().updateJobs.transition(org.id, j1.id, { from: 'queued', to: 'succeeded', at: T0 });
      const j2 = await s().updateJobs.create(
        jobFx(org.id, device.id, { rolloutId, origin: 'rollout', artifactId, deadline: T0 + 20 }),
      );
      const j3 = await s().updateJobs.create(
        jobFx(org.id, d2.id, { rolloutId, origin: 'rollout', deadline: T0 + 30 }),
      );
      const j4 = await s().updateJobs.create(jobFx(org.id, d3.id, { deadline: T0 + 5 }));
      const ids = (xs: UpdateJobRecord[]) => xs.map((x) => x.id);
      const list = s().updateJobs.list.bind(s().updateJobs);
      assert.deepEqual(ids(await list(org.id, { limit: 10 })), [j4.id, j3.id, j2.id, j1.id]);
      assert.deepEqual(ids(await list(org.id, { limit: 2 })), [j4.id, j3.id]);
      assert.deepEqual(ids(await list(org.id, { limit: 10, before: j3.id })), [j2.id, j1.id]);
      assert.deepEqual(ids(await list(org.id, { limit: 10, deviceId: device.id })), [j2.id, j1.id]);
      assert.deepEqual(ids(await list(org.id, { limit: 10, rolloutId })), [j3.id, j2.id, j1.id]);
      assert.deepEqual(ids(await list(org.id, { limit: 10, artifactId })), [j2.id, j1.id]);
      assert.deepEqual(ids(await list(org.id, { limit: 10, states: ['succeeded'] })), [j1.id]);
      assert.deepEqual(ids(await list(org.id, { limit: 10, states: [] })), []);
      assert.deepEqual(await s().updateJobs.countByRollout(org.id, rolloutId), {
        queued: 2,
        succeeded: 1,
      });
      assert.deepEqual(await s().updateJobs.countByRollout(org.id, newId()), {});
      assert.deepEqual(
        await s().updateJobs.devicesInRollout(org.id, rolloutId),
        [device.id, d2.id].sort(),
      );
      // Overdue is hub-wide: other suites' jobs may be there too, so look for ours.
      const overdue = ids(await s().updateJobs.listOverdue(T0 + 25, 1000));
      assert.ok(overdue.includes(j4.id) && overdue.includes(j2.id));
      assert.ok(!overdue.includes(j1.id), 'a terminal job is never overdue');
      assert.ok(!overdue.includes(j3.id), 'deadline not yet passed');
      assert.equal((await s().updateJobs.listOverdue(T0 + 25, 1)).length, 1);
    });

    it("filters by origin, the device's registered type and creation time (a policy's jobs)", async () => {
      const org = await seedOrg(s());
      const artifactId = newId();
      const gw = await seedDevice(s(), org.id, { type: 'gateway' });
      const gw2 = await seedDevice(s(), org.id, { type: 'gateway' });
      const cam = await seedDevice(s(), org.id, { type: 'camera' });
      const auto = { origin: 'auto-upgrade' as const, artifactId };
      const old = await s().updateJobs.create(jobFx(org.id, gw.id, { ...auto, createdAt: T0 }));
      await s().updateJobs.transition(org.id, old.id, { from: 'queued', to: 'failed', at: T0 });
      const a = await s().updateJobs.create(jobFx(org.id, gw.id, { ...auto, createdAt: T0 + 10 }));
      const b = await s().updateJobs.create(
        jobFx(org.id, gw2.id, { artifactId, createdAt: T0 + 11 }),
      );
      const c = await s().updateJobs.create(jobFx(org.id, cam.id, { ...auto, createdAt: T0 + 12 }));
      const ids = (xs: UpdateJobRecord[]) => xs.map((x) => x.id);
      const list = s().updateJobs.list.bind(s().updateJobs);
      assert.deepEqual(ids(await list(org.id, { limit: 10, origin: 'auto-upgrade' })), [
        c.id,
        a.id,
        old.id,
      ]);
      assert.deepEqual(ids(await list(org.id, { limit: 10, deviceType: 'gateway' })), [
        b.id,
        a.id,
        old.id,
      ]);
      assert.deepEqual(
        ids(
          await list(org.id, {
            limit: 10,
            artifactId,
            origin: 'auto-upgrade',
            deviceType: 'gateway',
            createdSince: T0 + 10,
          }),
        ),
        [a.id],
      );
      const other = await seedOrg(s());
      assert.deepEqual(await list(other.id, { limit: 10, deviceType: 'gateway' }), []);
    });
  });
}
