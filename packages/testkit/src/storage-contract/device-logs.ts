import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeIdCursor, newId, type DeviceLogFilter, type DeviceLogRow } from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

/** A record received at `at` (its id made then, so ids sort by arrival as the hub makes them). */
const logFx = (
  orgId: string,
  deviceId: string,
  at: number,
  over: Partial<DeviceLogRow> = {},
): DeviceLogRow => ({
  id: newId(at),
  orgId,
  deviceId,
  ts: at - 5,
  receivedAt: at,
  priority: 6,
  source: 'agent',
  message: `line at ${at}`,
  fields: null,
  ...over,
});

/**
 * Central device logs (decision 0032): a batch stored whole, pages in arrival order both ways
 * with cursors, every filter (time, level and more severe, source, substring case-insensitive
 * with LIKE's wildcards taken literally), `after` and `lastId` for follow, both retention limits,
 * and tenancy — another organization's or device's records never show.
 */
export function deviceLogSuite(open: OpenStorage): void {
  describe('DeviceLogStore', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      return { org, device: await seedDevice(s(), org.id) };
    };

    it('stores a batch whole and pages it newest or oldest first with cursors', async () => {
      const { org, device } = await seed();
      const rows = Array.from({ length: 7 }, (_, i) =>
        logFx(org.id, device.id, T0 + i, {
          fields: i === 0 ? { unit: 'nginx.service', pid: 42, ok: true } : null,
        }),
      );
      await s().deviceLogs.append(rows);
      const p1 = await s().deviceLogs.list(org.id, device.id, {}, { order: 'newest', limit: 3 });
      assert.deepEqual(
        p1.items.map((r) => r.id),
        rows
          .slice(4)
          .reverse()
          .map((r) => r.id),
      );
      assert.ok(p1.nextCursor);
      const p2 = await s().deviceLogs.list(
        org.id,
        device.id,
        {},
        { order: 'newest', limit: 3, cursor: p1.nextCursor },
      );
      const p3 = await s().deviceLogs.list(
        org.id,
        device.id,
        {},
        { order: 'newest', limit: 3, cursor: p2.nextCursor },
      );
      assert.deepEqual(p3.items, [rows[0]], 'the whole record comes back, fields and all');
      assert.equal(p3.nextCursor, null);
      const asc = await s().deviceLogs.list(org.id, device.id, {}, { order: 'oldest', limit: 4 });
      assert.deepEqual(
        asc.items.map((r) => r.message),
        rows.slice(0, 4).map((r) => r.message),
      );
      assert.equal(decodeIdCursor(asc.nextCursor!), rows[3]!.id);
    });

    it('filters by time, level (and more severe), source and text', async () => {
      const { org, device } = await seed();
      const mk = (i: number, over: Partial<DeviceLogRow>) =>
        logFx(org.id, device.id, T0 + 100 + i, { ts: T0 + i * 1000, ...over });
      await s().deviceLogs.append([
        mk(0, { priority: 3, source: 'file:/var/log/app.log', message: 'Disk FULL on /data' }),
        mk(1, { priority: 6, source: 'journal:sshd.service', message: 'Accepted publickey' }),
        mk(2, { priority: 4, source: 'file:/var/log/app.log', message: '100% done_ok' }),
        mk(3, { priority: 7, source: 'agent', message: 'debug 100 done' }),
      ]);
      const q = async (filter: DeviceLogFilter) =>
        (
          await s().deviceLogs.list(org.id, device.id, filter, { order: 'oldest', limit: 50 })
        ).items.map((r) => r.message);
      assert.deepEqual(await q({ since: T0 + 1000, until: T0 + 3000 }), [
        'Accepted publickey',
        '100% done_ok',
      ]);
      assert.deepEqual(await q({ maxPriority: 4 }), ['Disk FULL on /data', '100% done_ok']);
      assert.deepEqual(await q({ source: 'file:/var/log/app.log' }), [
        'Disk FULL on /data',
        '100% done_ok',
      ]);
      assert.deepEqual(await q({ contains: 'disk full' }), ['Disk FULL on /data']);
      assert.deepEqual(await q({ contains: '100%' }), ['100% done_ok'], '% is literal');
      assert.deepEqual(await q({ contains: 'e_o' }), ['100% done_ok'], '_ is literal');
      assert.deepEqual(await q({ contains: 'nothing like it' }), []);
    });

    it('after and lastId: what a follower reads', async () => {
      const { org, device } = await seed();
      assert.equal(await s().deviceLogs.lastId(org.id, device.id), undefined);
      const rows = [0, 1, 2, 3].map((i) =>
        logFx(org.id, device.id, T0 + i, { priority: i === 2 ? 3 : 6 }),
      );
      await s().deviceLogs.append(rows);
      assert.equal(await s().deviceLogs.lastId(org.id, device.id), rows[3]!.id);
      const after1 = await s().deviceLogs.after(org.id, device.id, rows[1]!.id, {}, 10);
      assert.deepEqual(
        after1.map((r) => r.id),
        [rows[2]!.id, rows[3]!.id],
      );
      const errors = await s().deviceLogs.after(org.id, device.id, null, { maxPriority: 3 }, 10);
      assert.deepEqual(
        errors.map((r) => r.id),
        [rows[2]!.id],
      );
      assert.equal((await s().deviceLogs.after(org.id, device.id, null, {}, 2)).length, 2);
    });

    it('another organization or device sees none of them', async () => {
      const a = await seed();
      const b = await seed();
      const other = await seedDevice(s(), a.org.id);
      await s().deviceLogs.append([logFx(a.org.id, a.device.id, T0)]);
      const none = async (orgId: string, deviceId: string) => {
        const l = await s().deviceLogs.list(orgId, deviceId, {}, { order: 'newest', limit: 10 });
        assert.deepEqual(l.items, []);
        assert.deepEqual(await s().deviceLogs.after(orgId, deviceId, null, {}, 10), []);
        assert.equal(await s().deviceLogs.lastId(orgId, deviceId), undefined);
      };
      await none(b.org.id, a.device.id); // the right device id under another organization
      await none(a.org.id, other.id); // another device of the same organization
      assert.equal(await s().deviceLogs.pruneDevice(b.org.id, a.device.id, 0), 0);
    });

    it('retention: by age hub-wide in chunks, and by rows per device keeping the newest', async () => {
      const { org, device } = await seed();
      const d2 = await seedDevice(s(), org.id);
      const old = [0, 1, 2].map((i) => logFx(org.id, device.id, T0 - 10_000 + i));
      const fresh = [0, 1, 2, 3, 4].map((i) => logFx(org.id, device.id, T0 + i));
      const other = [0, 1].map((i) => logFx(org.id, d2.id, T0 + i));
      await s().deviceLogs.append([...old, ...fresh]);
      await s().deviceLogs.append(other);
      assert.equal(await s().deviceLogs.pruneReceivedBefore(T0, 2), 2, 'one chunk');
      assert.equal(await s().deviceLogs.pruneReceivedBefore(T0, 2), 1);
      assert.equal(await s().deviceLogs.pruneReceivedBefore(T0, 2), 0);
      assert.equal(await s().deviceLogs.pruneDevice(org.id, device.id, 3), 2);
      const left = await s().deviceLogs.list(org.id, device.id, {}, { order: 'oldest', limit: 9 });
      assert.deepEqual(
        left.items.map((r) => r.id),
        fresh.slice(2).map((r) => r.id),
      );
      assert.equal(await s().deviceLogs.pruneDevice(org.id, device.id, 3), 0, 'at the limit');
      const o = await s().deviceLogs.list(org.id, d2.id, {}, { order: 'oldest', limit: 9 });
      assert.equal(o.items.length, 2, "the other device's records are untouched");
    });
  });
}
