import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Device, DeviceSortKey, PresenceRecord, Storage } from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const names = (items: readonly Device[]): string[] => items.map((d) => d.name);

const online = (d: Device, up: boolean): PresenceRecord => ({
  orgId: d.orgId,
  deviceId: d.id,
  online: up,
  mode: null,
  since: T0,
  lastSeenAt: T0,
  sessionId: null,
  metrics: null,
});

/** DeviceStore.window: the sorted, filtered device list by position (the console's fleet table). */
export function deviceWindowSuite(open: OpenStorage): void {
  describe('DeviceStore.window', () => {
    const s = useStorage(open);

    /** Five devices of one organization, two of them online, and one of another organization. */
    async function setup() {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const d = {
        b: await seedDevice(s(), org.id, {
          name: 'b-pump',
          type: 'pump',
          firmwareVersion: '2.0.0',
          lastSeenAt: T0 + 30,
          createdAt: T0 + 1,
        }),
        a: await seedDevice(s(), org.id, {
          name: 'a-pump',
          type: 'pump',
          firmwareVersion: '1.0.0',
          lastSeenAt: T0 + 10,
          createdAt: T0 + 2,
        }),
        upper: await seedDevice(s(), org.id, {
          name: 'Z-valve',
          type: 'valve',
          firmwareVersion: null,
          lastSeenAt: null,
          createdAt: T0 + 3,
        }),
        c: await seedDevice(s(), org.id, {
          name: 'c-valve',
          type: 'valve',
          firmwareVersion: '1.0.0',
          lastSeenAt: T0 + 20,
          createdAt: T0 + 4,
          state: 'active',
        }),
        u: await seedDevice(s(), org.id, {
          name: 'under_score',
          type: 'pump',
          firmwareVersion: '1.0.0',
          lastSeenAt: null,
          createdAt: T0 + 5,
        }),
      };
      await seedDevice(s(), other.id, { name: 'a-theirs', type: 'pump' });
      await s().presence.put(online(d.a, true));
      await s().presence.put(online(d.c, true));
      await s().presence.put(online(d.b, false));
      return { org, other, d };
    }

    const win = (orgId: string, sort: DeviceSortKey, descending = false, offset = 0, limit = 10) =>
      s().devices.window(orgId, {}, { sort, descending, offset, limit });

    it('sorts by name bytewise, either way, and counts the organization only', async () => {
      const { org } = await setup();
      const up = await win(org.id, 'name');
      assert.deepEqual(names(up.items), ['Z-valve', 'a-pump', 'b-pump', 'c-valve', 'under_score']);
      assert.equal(up.total, 5);
      const down = await win(org.id, 'name', true);
      assert.deepEqual(names(down.items), names(up.items).reverse());
    });

    it('puts empty values last both ways, ties in id order', async () => {
      const { org, d } = await setup();
      const seen = await win(org.id, 'lastSeenAt');
      assert.deepEqual(names(seen.items).slice(0, 3), ['a-pump', 'c-valve', 'b-pump']);
      assert.deepEqual(
        new Set(names(seen.items).slice(3)),
        new Set(['Z-valve', 'under_score']),
        'never seen: last',
      );
      const seenDown = await win(org.id, 'lastSeenAt', true);
      assert.deepEqual(names(seenDown.items).slice(0, 3), ['b-pump', 'c-valve', 'a-pump']);
      const fw = await win(org.id, 'firmwareVersion', true);
      assert.equal(fw.items[fw.items.length - 1]?.id, d.upper.id, 'no version: last');
      // Equal versions: the ids decide (descending here), so the order is total.
      const ones = fw.items.filter((x) => x.firmwareVersion === '1.0.0').map((x) => x.id);
      assert.deepEqual(ones, [...ones].sort().reverse());
    });

    it('reads by position: offset and limit cut the same sorted list', async () => {
      const { org } = await setup();
      const all = names((await win(org.id, 'createdAt')).items);
      assert.deepEqual(all, ['b-pump', 'a-pump', 'Z-valve', 'c-valve', 'under_score']);
      const page = await win(org.id, 'createdAt', false, 1, 2);
      assert.deepEqual(names(page.items), all.slice(1, 3));
      assert.equal(page.total, 5);
      const past = await win(org.id, 'createdAt', false, 9, 2);
      assert.deepEqual(past.items, []);
      assert.equal(past.total, 5);
    });

    it("gives each device's online state; a device never seen is offline", async () => {
      const { org } = await setup();
      const w = await win(org.id, 'name');
      assert.deepEqual(
        w.items.map((x) => [x.name, x.online]),
        [
          ['Z-valve', false],
          ['a-pump', true],
          ['b-pump', false],
          ['c-valve', true],
          ['under_score', false],
        ],
      );
    });

    it('filters by online, firmware version and the list filters; total counts the matches', async () => {
      const { org } = await setup();
      const w = (filter: Parameters<Storage['devices']['window']>[1]) =>
        s().devices.window(org.id, filter, {
          sort: 'name',
          descending: false,
          offset: 0,
          limit: 2,
        });
      const up = await w({ online: true });
      assert.deepEqual(names(up.items), ['a-pump', 'c-valve']);
      assert.equal(up.total, 2);
      const down = await w({ online: false });
      assert.deepEqual(names(down.items), ['Z-valve', 'b-pump']);
      assert.equal(down.total, 3, 'the count is not cut by the limit');
      const one = await w({ firmwareVersion: '1.0.0', type: 'pump' });
      assert.deepEqual(names(one.items), ['a-pump', 'under_score']);
      assert.equal(one.total, 2);
      const mixed = await w({ online: true, state: 'active', nameContains: 'VALVE' });
      assert.deepEqual(names(mixed.items), ['c-valve']);
      // The list (id order, cursor pages) takes the new filters too.
      const listed = await s().devices.list(
        org.id,
        { online: false, firmwareVersion: '1.0.0' },
        {
          limit: 10,
        },
      );
      assert.deepEqual(names(listed.items), ['under_score']);
    });

    it("never shows another organization's devices or presence", async () => {
      const { other } = await setup();
      const w = await win(other.id, 'name');
      assert.deepEqual(names(w.items), ['a-theirs']);
      assert.equal(w.items[0]?.online, false);
      assert.equal(w.total, 1);
    });
  });
}
