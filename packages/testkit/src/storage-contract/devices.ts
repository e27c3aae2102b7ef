import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { newId, type Device, type DeviceFilter, type Storage } from '@bulwark/core';
import { T0, deviceFx, deviceKeyFx, locationFx, seedDevice, seedOrg } from './fixtures.js';
import { rejectsWithCode, useStorage, type OpenStorage } from './harness.js';

/** Lists every page of `filter` with page size `limit`, asserting each page honours the limit. */
async function listAll(
  s: Storage,
  orgId: string,
  filter: DeviceFilter,
  limit: number,
): Promise<{ items: Device[]; pages: number }> {
  const items: Device[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await s.devices.list(orgId, filter, { limit, cursor });
    assert.ok(page.items.length <= limit, 'a page is never larger than its limit');
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
    assert.ok(pages < 1000, 'pagination must terminate');
  } while (cursor !== null);
  return { items, pages };
}

const ids = (devices: readonly Device[]): string[] => devices.map((d) => d.id);

/** DeviceStore: create, get, getByName, list (filters, pagination), update, countInLocations, orgOf. */
export function deviceSuite(open: OpenStorage): void {
  describe('DeviceStore', () => {
    const s = useStorage(open);

    it('create then get and getByName return the same record', async () => {
      const org = await seedOrg(s());
      const loc = locationFx(org.id);
      await s().locations.create(loc);
      const device = deviceFx(org.id, {
        firmwareType: 'fw-a',
        firmwareVersion: '1.2.3',
        tags: ['roof', 'north'],
        mode: 'controlled',
        state: 'active',
        locationId: loc.id,
        lastSeenAt: T0 + 7,
      });
      await s().devices.create(device);
      assert.deepEqual(await s().devices.get(org.id, device.id), device);
      assert.deepEqual(await s().devices.getByName(org.id, device.name), device);
      assert.equal(await s().devices.get(org.id, newId()), undefined);
      assert.equal(await s().devices.getByName(org.id, 'no-such-device'), undefined);
    });

    it('a duplicate name in one organization fails with device_name_taken; another org may reuse it', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const device = await seedDevice(s(), a.id, { name: 'pump-1' });
      await rejectsWithCode(
        s().devices.create(deviceFx(a.id, { name: 'pump-1' })),
        'device_name_taken',
      );
      await s().devices.create(deviceFx(b.id, { name: device.name }));
      assert.ok(await s().devices.getByName(b.id, 'pump-1'));
    });

    it('a device of org A is invisible and unchangeable through org B', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const loc = locationFx(a.id);
      await s().locations.create(loc);
      const device = await seedDevice(s(), a.id, { locationId: loc.id });
      assert.equal(await s().devices.get(b.id, device.id), undefined);
      assert.equal(await s().devices.getByName(b.id, device.name), undefined);
      assert.deepEqual((await s().devices.list(b.id, {}, { limit: 100 })).items, []);
      assert.equal(await s().devices.update(b.id, device.id, { name: 'stolen' }), undefined);
      assert.equal(await s().devices.countInLocations(b.id, [loc.id]), 0);
      assert.deepEqual(await s().devices.get(a.id, device.id), device);
    });

    it('orgOf names the organization of a device id, hub-wide; undefined for an unknown id', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const da = await seedDevice(s(), a.id);
      const db = await seedDevice(s(), b.id);
      assert.equal(await s().devices.orgOf(da.id), a.id);
      assert.equal(await s().devices.orgOf(db.id), b.id);
      assert.equal(await s().devices.orgOf('no-such-device'), undefined);
      assert.equal(await s().devices.orgOf(''), undefined);
    });

    it('update applies the patch and returns the updated device', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id, { tags: ['x'] });
      const loc = locationFx(org.id);
      await s().locations.create(loc);
      const patch = {
        name: 'renamed',
        type: 'sensor-v2',
        firmwareType: 'fw-b',
        firmwareVersion: '2.0.0',
        tags: ['a', 'b'],
        mode: 'controlled' as const,
        state: 'quarantined' as const,
        locationId: loc.id,
        lastSeenAt: T0 + 5,
        updatedAt: T0 + 6,
      };
      const updated = await s().devices.update(org.id, device.id, patch);
      assert.deepEqual(updated, { ...device, ...patch });
      assert.deepEqual(await s().devices.get(org.id, device.id), { ...device, ...patch });
      const cleared = await s().devices.update(org.id, device.id, {
        locationId: null,
        firmwareType: null,
        tags: [],
      });
      assert.deepEqual(cleared, {
        ...device,
        ...patch,
        locationId: null,
        firmwareType: null,
        tags: [],
      });
    });

    it('update with an empty patch returns the device unchanged; an unknown id gives undefined', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      assert.deepEqual(await s().devices.update(org.id, device.id, {}), device);
      assert.equal(await s().devices.update(org.id, newId(), { name: 'x' }), undefined);
    });

    it('renaming onto a taken name fails with device_name_taken and changes nothing', async () => {
      const org = await seedOrg(s());
      const a = await seedDevice(s(), org.id);
      const b = await seedDevice(s(), org.id);
      await rejectsWithCode(
        s().devices.update(org.id, b.id, { name: a.name }),
        'device_name_taken',
      );
      assert.deepEqual(await s().devices.get(org.id, b.id), b);
    });

    describe('list filters', () => {
      const setup = async () => {
        const org = await seedOrg(s());
        const l1 = locationFx(org.id);
        const l2 = locationFx(org.id);
        await s().locations.create(l1);
        await s().locations.create(l2);
        const d = {
          a: await seedDevice(s(), org.id, {
            name: 'Pump-North',
            type: 'pump',
            tags: ['roof', 'north'],
            state: 'active',
            locationId: l1.id,
          }),
          b: await seedDevice(s(), org.id, {
            name: 'pump-south',
            type: 'pump',
            tags: ['roof'],
            state: 'provisioned',
            locationId: l2.id,
          }),
          c: await seedDevice(s(), org.id, {
            name: 'valve_100%',
            type: 'valve',
            tags: ['north', 'roof', 'x'],
            state: 'active',
            locationId: null,
          }),
          d: await seedDevice(s(), org.id, {
            name: 'meter',
            type: 'meter',
            tags: [],
            state: 'decommissioned',
            locationId: l1.id,
          }),
        };
        // Noise in another organization that matches every filter.
        await seedDevice(s(), (await seedOrg(s())).id, {
          name: 'pump-other',
          type: 'pump',
          tags: ['roof', 'north'],
          state: 'active',
        });
        return { org, l1, l2, d };
      };

      it('no filter lists every device of the organization in id order', async () => {
        const { org, d } = await setup();
        const page = await s().devices.list(org.id, {}, { limit: 100 });
        assert.deepEqual(page.items, [d.a, d.b, d.c, d.d]);
        assert.equal(page.nextCursor, null);
      });

      it('type and state match exactly', async () => {
        const { org, d } = await setup();
        assert.deepEqual(
          ids((await s().devices.list(org.id, { type: 'pump' }, { limit: 100 })).items),
          ids([d.a, d.b]),
        );
        assert.deepEqual(
          ids((await s().devices.list(org.id, { state: 'active' }, { limit: 100 })).items),
          ids([d.a, d.c]),
        );
        assert.deepEqual(
          ids(
            (await s().devices.list(org.id, { type: 'pump', state: 'active' }, { limit: 100 }))
              .items,
          ),
          ids([d.a]),
        );
        assert.deepEqual(
          (await s().devices.list(org.id, { type: 'PUMP' }, { limit: 100 })).items,
          [],
        );
      });

      it('tags match when the device carries ALL of them', async () => {
        const { org, d } = await setup();
        const list = async (tags: string[]) =>
          ids((await s().devices.list(org.id, { tags }, { limit: 100 })).items);
        assert.deepEqual(await list(['roof']), ids([d.a, d.b, d.c]));
        assert.deepEqual(await list(['roof', 'north']), ids([d.a, d.c]));
        assert.deepEqual(await list(['north', 'x']), ids([d.c]));
        assert.deepEqual(await list(['roof', 'missing']), []);
        assert.deepEqual(await list([]), ids([d.a, d.b, d.c, d.d]));
      });

      it('locationIds match any of the given locations; [] matches none', async () => {
        const { org, l1, l2, d } = await setup();
        const list = async (locationIds: string[]) =>
          ids((await s().devices.list(org.id, { locationIds }, { limit: 100 })).items);
        assert.deepEqual(await list([l1.id]), ids([d.a, d.d]));
        assert.deepEqual(await list([l1.id, l2.id]), ids([d.a, d.b, d.d]));
        assert.deepEqual(await list([newId()]), []);
        assert.deepEqual(await list([]), []);
      });

      it('nameContains is a case-insensitive substring, with no wildcards', async () => {
        const { org, d } = await setup();
        const list = async (nameContains: string) =>
          ids((await s().devices.list(org.id, { nameContains }, { limit: 100 })).items);
        assert.deepEqual(await list('PUMP'), ids([d.a, d.b]));
        assert.deepEqual(await list('th'), ids([d.a, d.b]));
        assert.deepEqual(await list('100%'), ids([d.c]));
        assert.deepEqual(await list('%'), ids([d.c]));
        assert.deepEqual(await list('_'), ids([d.c]));
        assert.deepEqual(await list('p%p'), []);
      });

      it('all given filters must match', async () => {
        const { org, l1, d } = await setup();
        const filter: DeviceFilter = {
          type: 'pump',
          state: 'active',
          tags: ['north'],
          locationIds: [l1.id],
          nameContains: 'north',
        };
        assert.deepEqual(
          ids((await s().devices.list(org.id, filter, { limit: 100 })).items),
          ids([d.a]),
        );
        assert.deepEqual(
          (await s().devices.list(org.id, { ...filter, state: 'provisioned' }, { limit: 100 }))
            .items,
          [],
        );
      });
    });

    describe('list pagination', () => {
      it('pages honour the limit, follow id order and end with a null cursor', async () => {
        const org = await seedOrg(s());
        const all: Device[] = [];
        for (let i = 0; i < 7; i++) all.push(await seedDevice(s(), org.id, { tags: ['p'] }));
        const first = await s().devices.list(org.id, {}, { limit: 3 });
        assert.deepEqual(first.items, all.slice(0, 3));
        assert.equal(typeof first.nextCursor, 'string');
        const second = await s().devices.list(org.id, {}, { limit: 3, cursor: first.nextCursor });
        assert.deepEqual(second.items, all.slice(3, 6));
        const third = await s().devices.list(org.id, {}, { limit: 3, cursor: second.nextCursor });
        assert.deepEqual(third.items, all.slice(6));
        assert.equal(third.nextCursor, null);
        for (const limit of [1, 2, 7, 8]) {
          const { items, pages } = await listAll(s(), org.id, {}, limit);
          assert.deepEqual(ids(items), ids(all), `limit ${limit}`);
          assert.equal(pages, Math.max(1, Math.ceil(7 / limit)), `pages at limit ${limit}`);
        }
      });

      it('an exactly full last page has a null cursor', async () => {
        const org = await seedOrg(s());
        for (let i = 0; i < 4; i++) await seedDevice(s(), org.id);
        const first = await s().devices.list(org.id, {}, { limit: 2 });
        const last = await s().devices.list(org.id, {}, { limit: 2, cursor: first.nextCursor });
        assert.equal(last.items.length, 2);
        assert.equal(last.nextCursor, null);
      });

      it('pagination composes with filters, and an empty list has a null cursor', async () => {
        const org = await seedOrg(s());
        const matching: Device[] = [];
        for (let i = 0; i < 5; i++) {
          matching.push(await seedDevice(s(), org.id, { type: 'cam' }));
          await seedDevice(s(), org.id, { type: 'other' });
        }
        const { items } = await listAll(s(), org.id, { type: 'cam' }, 2);
        assert.deepEqual(ids(items), ids(matching));
        const empty = await s().devices.list(org.id, { type: 'none' }, { limit: 10 });
        assert.deepEqual(empty, { items: [], nextCursor: null });
      });

      it('a malformed cursor fails with invalid_cursor', async () => {
        const org = await seedOrg(s());
        await seedDevice(s(), org.id);
        for (const cursor of [
          'not a cursor!',
          'garbage',
          Buffer.from('not-an-id').toString('base64url'),
          Buffer.from("x' OR 1=1 --").toString('base64url'),
        ]) {
          await rejectsWithCode(
            s().devices.list(org.id, {}, { limit: 10, cursor }),
            'invalid_cursor',
          );
        }
      });
    });

    it('countInLocations counts the organization’s devices in any of the locations', async () => {
      const org = await seedOrg(s());
      const l1 = locationFx(org.id);
      const l2 = locationFx(org.id);
      await s().locations.create(l1);
      await s().locations.create(l2);
      await seedDevice(s(), org.id, { locationId: l1.id });
      await seedDevice(s(), org.id, { locationId: l1.id });
      await seedDevice(s(), org.id, { locationId: l2.id });
      await seedDevice(s(), org.id);
      assert.equal(await s().devices.countInLocations(org.id, [l1.id]), 2);
      assert.equal(await s().devices.countInLocations(org.id, [l1.id, l2.id]), 3);
      assert.equal(await s().devices.countInLocations(org.id, [newId()]), 0);
      assert.equal(await s().devices.countInLocations(org.id, []), 0);
    });
  });
}

/** DeviceKeyStore: create, listForDevice (scoped), listLiveByDeviceId, revoke (scoped). */
export function deviceKeySuite(open: OpenStorage): void {
  describe('DeviceKeyStore', () => {
    const s = useStorage(open);

    it('listForDevice returns every key of the device in id order', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const other = await seedDevice(s(), org.id);
      const k1 = deviceKeyFx(org.id, device.id);
      const k2 = deviceKeyFx(org.id, device.id, { revokedAt: T0 + 1 });
      const k3 = deviceKeyFx(org.id, other.id);
      for (const k of [k1, k2, k3]) await s().deviceKeys.create(k);
      assert.deepEqual(await s().deviceKeys.listForDevice(org.id, device.id), [k1, k2]);
    });

    it('listLiveByDeviceId excludes revoked keys', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const live = deviceKeyFx(org.id, device.id);
      await s().deviceKeys.create(live);
      await s().deviceKeys.create(deviceKeyFx(org.id, device.id, { revokedAt: T0 + 1 }));
      assert.deepEqual(await s().deviceKeys.listLiveByDeviceId(device.id), [live]);
      assert.deepEqual(await s().deviceKeys.listLiveByDeviceId(newId()), []);
    });

    it('revoke returns true once, then false; through another org it is false', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const device = await seedDevice(s(), a.id);
      const key = deviceKeyFx(a.id, device.id);
      await s().deviceKeys.create(key);
      assert.deepEqual(await s().deviceKeys.listForDevice(b.id, device.id), []);
      assert.equal(await s().deviceKeys.revoke(b.id, key.id, T0 + 1), false);
      assert.deepEqual(await s().deviceKeys.listLiveByDeviceId(device.id), [key]);
      assert.equal(await s().deviceKeys.revoke(a.id, key.id, T0 + 2), true);
      assert.equal(await s().deviceKeys.revoke(a.id, key.id, T0 + 3), false);
      assert.deepEqual(await s().deviceKeys.listForDevice(a.id, device.id), [
        { ...key, revokedAt: T0 + 2 },
      ]);
      assert.deepEqual(await s().deviceKeys.listLiveByDeviceId(device.id), []);
    });

    it('listRevokedSince lists keys revoked after a time, across organizations, oldest first', async () => {
      const base = T0 + 5000 * 86_400_000;
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const da = await seedDevice(s(), a.id);
      const db = await seedDevice(s(), b.id);
      const k1 = deviceKeyFx(a.id, da.id);
      const k2 = deviceKeyFx(b.id, db.id);
      await s().deviceKeys.create(k1);
      await s().deviceKeys.create(k2);
      await s().deviceKeys.revoke(b.id, k2.id, base + 2);
      await s().deviceKeys.revoke(a.id, k1.id, base + 1);
      assert.deepEqual(
        (await s().deviceKeys.listRevokedSince(base, 10)).map((k) => k.id),
        [k1.id, k2.id],
      );
      assert.deepEqual(
        (await s().deviceKeys.listRevokedSince(base + 1, 10)).map((k) => k.id),
        [k2.id],
      );
    });
  });
}

/** LocationStore: create, get, list, update, delete — all scoped by organization. */
export function locationSuite(open: OpenStorage): void {
  describe('LocationStore', () => {
    const s = useStorage(open);

    it('create, get and list (ordered by id)', async () => {
      const org = await seedOrg(s());
      const site = locationFx(org.id);
      const building = locationFx(org.id, { kind: 'building', parentId: site.id, name: 'B1' });
      const floor = locationFx(org.id, { kind: 'floor', parentId: building.id, name: 'F1' });
      for (const l of [site, building, floor]) await s().locations.create(l);
      assert.deepEqual(await s().locations.get(org.id, building.id), building);
      assert.deepEqual(await s().locations.list(org.id), [site, building, floor]);
      assert.equal(await s().locations.get(org.id, newId()), undefined);
    });

    it('update changes name and parent and returns the location', async () => {
      const org = await seedOrg(s());
      const s1 = locationFx(org.id);
      const s2 = locationFx(org.id);
      const b = locationFx(org.id, { kind: 'building', parentId: s1.id });
      for (const l of [s1, s2, b]) await s().locations.create(l);
      assert.deepEqual(
        await s().locations.update(org.id, b.id, { name: 'Moved', parentId: s2.id }),
        {
          ...b,
          name: 'Moved',
          parentId: s2.id,
        },
      );
      assert.deepEqual(await s().locations.update(org.id, b.id, { parentId: null }), {
        ...b,
        name: 'Moved',
        parentId: null,
      });
      assert.deepEqual(await s().locations.update(org.id, b.id, {}), {
        ...b,
        name: 'Moved',
        parentId: null,
      });
      assert.equal(await s().locations.update(org.id, newId(), { name: 'x' }), undefined);
    });

    it('a location of org A is invisible, unchangeable and undeletable through org B', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const loc = locationFx(a.id);
      await s().locations.create(loc);
      assert.equal(await s().locations.get(b.id, loc.id), undefined);
      assert.deepEqual(await s().locations.list(b.id), []);
      assert.equal(await s().locations.update(b.id, loc.id, { name: 'stolen' }), undefined);
      assert.equal(await s().locations.delete(b.id, loc.id), false);
      assert.deepEqual(await s().locations.get(a.id, loc.id), loc);
    });

    it('delete returns true once, then false', async () => {
      const org = await seedOrg(s());
      const loc = locationFx(org.id);
      await s().locations.create(loc);
      assert.equal(await s().locations.delete(org.id, loc.id), true);
      assert.equal(await s().locations.get(org.id, loc.id), undefined);
      assert.equal(await s().locations.delete(org.id, loc.id), false);
    });
  });
}
