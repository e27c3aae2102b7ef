import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  newId,
  type CommandRecord,
  type DeviceEventRecord,
  type PresenceRecord,
} from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const commandFx = (orgId: string, deviceId: string, over: Partial<CommandRecord> = {}) =>
  ({
    id: newId(),
    orgId,
    deviceId,
    name: 'reboot',
    params: { delay: 5, nested: { a: [1, 'two', null, true] } },
    state: 'queued',
    deadline: T0 + 3_600_000,
    createdAt: T0,
    updatedAt: T0,
    result: null,
    error: null,
    history: [{ state: 'queued', at: T0, reason: 'sent' }],
    ...over,
  }) satisfies CommandRecord;

/**
 * The device-management stores: twin compare-and-set and stale reports, the command queue with
 * compare-and-set transitions (terminal states stick), presence per connection, bounded events,
 * (alerts: alerts.ts). Tenancy: another organization reads nothing.
 */
export function managementSuite(open: OpenStorage): void {
  describe('TwinStore', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      return { org, device: await seedDevice(s(), org.id) };
    };

    it('desired: insert at 0, then compare-and-set on the version', async () => {
      const { org, device } = await seed();
      const d1 = {
        orgId: org.id,
        deviceId: device.id,
        version: 1,
        state: { net: { ssid: 'x' }, list: [1, 2] },
        updatedAt: T0,
      };
      assert.equal(await s().twins.getDesired(org.id, device.id), undefined);
      assert.equal(await s().twins.putDesired(d1, 0), true);
      assert.equal(await s().twins.putDesired(d1, 0), false, 'a second first write loses');
      assert.deepEqual(await s().twins.getDesired(org.id, device.id), d1);
      const d2 = { ...d1, version: 2, state: { net: { ssid: 'y' } }, updatedAt: T0 + 1 };
      assert.equal(await s().twins.putDesired(d2, 5), false, 'wrong expected version');
      assert.deepEqual(await s().twins.getDesired(org.id, device.id), d1);
      assert.equal(await s().twins.putDesired(d2, 1), true);
      assert.deepEqual(await s().twins.getDesired(org.id, device.id), d2);
      const versions = await s().twins.desiredVersions(org.id, [device.id, newId()]);
      assert.deepEqual([...versions], [[device.id, 2]]);
      const other = await seedOrg(s());
      assert.equal(await s().twins.getDesired(other.id, device.id), undefined);
      assert.equal((await s().twins.desiredVersions(other.id, [device.id])).size, 0);
    });

    it('reported: only a newer version replaces the stored report', async () => {
      const { org, device } = await seed();
      const r5 = {
        orgId: org.id,
        deviceId: device.id,
        version: 5,
        desiredVersion: 2,
        state: { a: 1 },
        errors: [{ path: 'b', message: 'nope' }],
        updatedAt: T0,
      };
      assert.equal(await s().twins.putReported(r5), true);
      assert.equal(await s().twins.putReported({ ...r5, version: 4, state: { a: 0 } }), false);
      assert.equal(await s().twins.putReported({ ...r5, state: { a: 0 } }), false);
      assert.deepEqual(await s().twins.getReported(org.id, device.id), r5);
      const r6 = { ...r5, version: 6, errors: [], state: { a: 2 } };
      assert.equal(await s().twins.putReported(r6), true);
      assert.deepEqual(await s().twins.getReported(org.id, device.id), r6);
      const other = await seedOrg(s());
      assert.equal(await s().twins.getReported(other.id, device.id), undefined);
    });
  });

  describe('CommandStore', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      return { org, device: await seedDevice(s(), org.id) };
    };

    it('create/get round-trips; list is newest first, filtered and paginated', async () => {
      const { org, device } = await seed();
      const cmds = [];
      for (let i = 0; i < 5; i++) {
        const c = commandFx(org.id, device.id, { name: `c${i}` });
        await s().commands.create(c);
        cmds.push(c);
      }
      assert.deepEqual(await s().commands.get(org.id, cmds[0]!.id), cmds[0]);
      const p1 = await s().commands.list(org.id, device.id, {}, { limit: 3 });
      assert.deepEqual(
        p1.items.map((c) => c.name),
        ['c4', 'c3', 'c2'],
      );
      assert.ok(p1.nextCursor);
      const p2 = await s().commands.list(
        org.id,
        device.id,
        {},
        { limit: 3, cursor: p1.nextCursor },
      );
      assert.deepEqual(
        p2.items.map((c) => c.name),
        ['c1', 'c0'],
      );
      assert.equal(p2.nextCursor, null);
      assert.equal(
        (await s().commands.list(org.id, device.id, { state: 'succeeded' }, { limit: 10 })).items
          .length,
        0,
      );
      const other = await seedOrg(s());
      assert.equal(await s().commands.get(other.id, cmds[0]!.id), undefined);
      assert.equal(
        (await s().commands.list(other.id, device.id, {}, { limit: 10 })).items.length,
        0,
      );
    });

    it('transition is compare-and-set from the given states and appends history', async () => {
      const { org, device } = await seed();
      const c = commandFx(org.id, device.id);
      await s().commands.create(c);
      const d = await s().commands.transition(org.id, c.id, ['queued'], {
        to: 'delivered',
        at: T0 + 1,
        reason: 'received',
      });
      assert.equal(d?.state, 'delivered');
      assert.equal(
        await s().commands.transition(org.id, c.id, ['queued'], { to: 'delivered', at: T0 + 2 }),
        undefined,
        'no longer queued',
      );
      const done = await s().commands.transition(org.id, c.id, ['queued', 'delivered'], {
        to: 'succeeded',
        at: T0 + 3,
        result: { ok: true },
      });
      assert.equal(done?.state, 'succeeded');
      // Terminal: nothing moves it, even when the caller lists it (callers never should).
      assert.equal(
        await s().commands.transition(org.id, c.id, ['queued', 'delivered'], {
          to: 'expired',
          at: T0 + 4,
        }),
        undefined,
      );
      const got = await s().commands.get(org.id, c.id);
      assert.equal(got?.state, 'succeeded');
      assert.deepEqual(got?.result, { ok: true });
      assert.deepEqual(
        got?.history.map((h) => h.state),
        ['queued', 'delivered', 'succeeded'],
      );
      assert.equal(got?.history[1]?.reason, 'received');
      assert.equal(got?.history[2]?.reason, undefined);
      const other = await seedOrg(s());
      const c2 = commandFx(org.id, device.id);
      await s().commands.create(c2);
      assert.equal(
        await s().commands.transition(other.id, c2.id, ['queued'], { to: 'canceled', at: T0 }),
        undefined,
      );
    });

    it('concurrent transitions from the same state: exactly one wins', async () => {
      const { org, device } = await seed();
      const c = commandFx(org.id, device.id);
      await s().commands.create(c);
      const results = await Promise.all(
        (['succeeded', 'failed', 'canceled', 'expired'] as const).map((to) =>
          s().commands.transition(org.id, c.id, ['queued', 'delivered'], { to, at: T0 + 1 }),
        ),
      );
      assert.equal(results.filter((r) => r !== undefined).length, 1);
      const got = await s().commands.get(org.id, c.id);
      assert.equal(got?.history.length, 2);
    });

    it('listQueued: queued and unexpired, oldest first; listDue: open and past deadline', async () => {
      const { org, device } = await seed();
      const a = commandFx(org.id, device.id, { deadline: T0 + 10 });
      const b = commandFx(org.id, device.id, { deadline: T0 + 1000 });
      const done = commandFx(org.id, device.id, { state: 'succeeded', deadline: T0 + 5 });
      const delivered = commandFx(org.id, device.id, { state: 'delivered', deadline: T0 + 20 });
      for (const c of [a, b, done, delivered]) await s().commands.create(c);
      assert.deepEqual(
        (await s().commands.listQueued(org.id, [device.id], T0, 10)).map((c) => c.id),
        [a.id, b.id],
      );
      assert.deepEqual(
        (await s().commands.listQueued(org.id, [device.id], T0 + 10, 10)).map((c) => c.id),
        [b.id],
      );
      assert.deepEqual(await s().commands.listQueued(org.id, [], T0, 10), []);
      const other = await seedOrg(s());
      assert.deepEqual(await s().commands.listQueued(other.id, [device.id], T0, 10), []);
      const due = (await s().commands.listDue(T0 + 20, 10)).map((c) => c.id);
      assert.deepEqual(due.sort(), [a.id, delivered.id].sort());
    });
  });

  describe('PresenceStore', () => {
    const s = useStorage(open);

    it('put/get, offline only for the owning connection, touch', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const p: PresenceRecord = {
        orgId: org.id,
        deviceId: device.id,
        online: true,
        mode: null,
        since: T0,
        lastSeenAt: T0,
        sessionId: 'conn-1',
        metrics: null,
      };
      assert.equal(await s().presence.get(org.id, device.id), undefined);
      await s().presence.put(p);
      assert.deepEqual(await s().presence.get(org.id, device.id), p);
      assert.equal(await s().presence.setOffline(org.id, device.id, 'conn-0', T0 + 1), undefined);
      const metrics = {
        at: '2026-01-01T00:00:00.000Z',
        cpuPercent: 12.5,
        memory: { totalBytes: 100, availableBytes: 50 },
        disk: { totalBytes: 1000, availableBytes: 10 },
        uptimeSeconds: 60,
        network: { rxBytes: 1, txBytes: 2 },
        listeningPorts: [22, 443],
        connections: 3,
      };
      assert.equal(
        await s().presence.touch(org.id, device.id, {
          lastSeenAt: T0 + 2,
          mode: 'controlled',
          metrics,
        }),
        true,
      );
      const off = await s().presence.setOffline(org.id, device.id, 'conn-1', T0 + 3);
      assert.deepEqual(off, {
        ...p,
        online: false,
        since: T0 + 3,
        lastSeenAt: T0 + 3,
        mode: 'controlled',
        metrics,
      });
      assert.equal(
        await s().presence.setOffline(org.id, device.id, 'conn-1', T0 + 4),
        undefined,
        'already offline',
      );
      const other = await seedOrg(s());
      assert.equal(await s().presence.get(other.id, device.id), undefined);
      assert.equal(await s().presence.touch(other.id, device.id, { lastSeenAt: T0 }), false);
    });
  });

  describe('PresenceStore.markOnline (batched connects)', () => {
    const s = useStorage(open);

    it('marks many online at once, keeps since/mode/metrics of one already online, sets last seen, leaves another org alone', async () => {
      const org = await seedOrg(s());
      const a = await seedDevice(s(), org.id);
      const b = await seedDevice(s(), org.id, { name: 'other-device' });
      const other = await seedOrg(s());
      const c = await seedDevice(s(), other.id, { name: 'their-device' });
      // c has its presence in its own org; a was online already (since T0, mode reported).
      const theirs = {
        orgId: other.id,
        deviceId: c.id,
        online: false,
        mode: null,
        since: T0,
        lastSeenAt: T0,
        sessionId: 'conn-c0',
        metrics: null,
      };
      await s().presence.put(theirs);
      await s().presence.put({
        orgId: org.id,
        deviceId: a.id,
        online: true,
        mode: 'controlled',
        since: T0,
        lastSeenAt: T0,
        sessionId: 'conn-a0',
        metrics: null,
      });
      await s().presence.markOnline(
        [
          { orgId: org.id, deviceId: a.id, sessionId: 'conn-a1' },
          { orgId: org.id, deviceId: b.id, sessionId: 'conn-b0' },
          { orgId: org.id, deviceId: b.id, sessionId: 'conn-b1' },
          // Another org's device named with this org: its presence and record stay as they are.
          { orgId: org.id, deviceId: c.id, sessionId: 'conn-x' },
        ],
        T0 + 5,
      );
      assert.deepEqual(await s().presence.get(org.id, a.id), {
        orgId: org.id,
        deviceId: a.id,
        online: true,
        mode: 'controlled',
        since: T0,
        lastSeenAt: T0 + 5,
        sessionId: 'conn-a1',
        metrics: null,
      });
      assert.deepEqual(await s().presence.get(org.id, b.id), {
        orgId: org.id,
        deviceId: b.id,
        online: true,
        mode: null,
        since: T0 + 5,
        lastSeenAt: T0 + 5,
        sessionId: 'conn-b1',
        metrics: null,
      });
      assert.deepEqual(await s().presence.get(other.id, c.id), theirs);
      assert.equal(await s().presence.get(org.id, c.id), undefined);
      assert.equal((await s().devices.get(org.id, b.id))?.lastSeenAt, T0 + 5);
      assert.equal((await s().devices.get(other.id, c.id))?.lastSeenAt, c.lastSeenAt);
      // Offline, then online again: since restarts.
      await s().presence.setOffline(org.id, a.id, 'conn-a1', T0 + 6);
      await s().presence.markOnline(
        [{ orgId: org.id, deviceId: a.id, sessionId: 'conn-a2' }],
        T0 + 7,
      );
      const again = await s().presence.get(org.id, a.id);
      assert.equal(again?.since, T0 + 7);
      assert.equal(again?.online, true);
      await s().presence.markOnline([], T0 + 8);
    });
  });

  describe('PresenceStore heartbeat', () => {
    const s = useStorage(open);

    it('refresh vouches for online devices of the given connections; listStale finds the rest', async () => {
      const org = await seedOrg(s());
      const a = await seedDevice(s(), org.id);
      const b = await seedDevice(s(), org.id, { name: 'other-device' });
      const base = { orgId: org.id, mode: null, since: T0, lastSeenAt: T0, metrics: null };
      await s().presence.put({ ...base, deviceId: a.id, online: true, sessionId: 'sa' });
      await s().presence.put({ ...base, deviceId: b.id, online: true, sessionId: 'sb' });
      assert.equal(await s().presence.refresh(org.id, ['sa', 'nope'], T0 + 100), 1);
      const other = await seedOrg(s());
      assert.equal(await s().presence.refresh(other.id, ['sb'], T0 + 100), 0);
      const stale = await s().presence.listStale(T0 + 50, 10);
      assert.deepEqual(
        stale.map((p) => p.deviceId),
        [b.id],
      );
      await s().presence.setOffline(org.id, b.id, 'sb', T0 + 60);
      assert.deepEqual(await s().presence.listStale(T0 + 50, 10), [], 'offline is never stale');
    });
  });

  describe('DeviceEventStore', () => {
    const s = useStorage(open);

    it('append, list newest first with filters and pages, prune keeps the newest', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const events: DeviceEventRecord[] = [];
      for (let i = 0; i < 6; i++) {
        events.push({
          id: newId(),
          orgId: org.id,
          deviceId: device.id,
          kind: i % 2 === 0 ? 'login' : 'alarm',
          severity: i % 2 === 0 ? 'info' : 'critical',
          at: T0 + i,
          receivedAt: T0 + i,
          detail: { i },
        });
      }
      await s().deviceEvents.append(events);
      const page = await s().deviceEvents.list(org.id, device.id, {}, { limit: 4 });
      assert.deepEqual(
        page.items.map((e) => e.detail['i']),
        [5, 4, 3, 2],
      );
      assert.deepEqual(page.items[0], events[5]);
      const rest = await s().deviceEvents.list(
        org.id,
        device.id,
        {},
        { limit: 4, cursor: page.nextCursor },
      );
      assert.deepEqual(
        rest.items.map((e) => e.detail['i']),
        [1, 0],
      );
      const alarms = await s().deviceEvents.list(
        org.id,
        device.id,
        { kind: 'alarm', severity: 'critical' },
        { limit: 10 },
      );
      assert.equal(alarms.items.length, 3);
      assert.equal(await s().deviceEvents.prune(org.id, device.id, 2), 4);
      const kept = await s().deviceEvents.list(org.id, device.id, {}, { limit: 10 });
      assert.deepEqual(
        kept.items.map((e) => e.detail['i']),
        [5, 4],
      );
      const other = await seedOrg(s());
      assert.equal(
        (await s().deviceEvents.list(other.id, device.id, {}, { limit: 10 })).items.length,
        0,
      );
    });
  });
}
