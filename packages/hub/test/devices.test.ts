import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('device registry and locations', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('registers a device as provisioned, with defaults', async () => {
    const d = await s.api.devices.create({
      name: 'pump-1',
      type: 'rpi4',
      firmwareType: 'os',
      firmwareVersion: '1.0.0',
      tags: ['line-a'],
    });
    assert.equal(d.state, 'provisioned');
    assert.equal(d.mode, 'controlled');
    assert.equal(d.lastSeenAt, null);
    assert.deepEqual(await s.api.devices.get(d.id), d);
  });
  it('refuses a duplicate name, bad fields and unknown fields, changing nothing', async () => {
    await rejectsWith(s.api.devices.create({ name: 'pump-1', type: 'rpi4' }), 'device_name_taken');
    const bad = await raw(t, 'POST', '/devices', { name: 'has space', type: 'x' }, s.apiKey);
    assert.equal(bad.json['code'], 'validation_failed');
    assert.match(String(bad.json['detail']), /name/);
    const unknown = await raw(
      t,
      'POST',
      '/devices',
      { name: 'ok', type: 'x', owner: 'me' },
      s.apiKey,
    );
    assert.equal(unknown.json['code'], 'unknown_field');
    const notJson = await raw(t, 'POST', '/devices', '{"name":', s.apiKey);
    assert.equal(notJson.json['code'], 'malformed_body');
    const wrongType = await raw(t, 'POST', '/devices', 'name=x', s.apiKey, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.json['code'], 'unsupported_media_type');
    const huge = await raw(
      t,
      'POST',
      '/devices',
      { name: 'big', type: 'x', tags: ['a'], pad: 'x'.repeat(2 * 1024 * 1024) },
      s.apiKey,
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.json['code'], 'body_too_large');
    const badId = await raw(t, 'GET', '/devices/not-an-id', undefined, s.apiKey);
    assert.equal(badId.json['code'], 'validation_failed');
    assert.equal((await s.api.devices.list({ q: 'ok' })).items.length, 0);
  });
  it('filters by type, state, tags (all of), name and location subtree, and paginates', async () => {
    const site = await s.api.locations.create({ name: 'Plant', kind: 'site' });
    const building = await s.api.locations.create({
      name: 'Hall 1',
      kind: 'building',
      parentId: site.id,
    });
    const floor = await s.api.locations.create({
      name: 'Ground',
      kind: 'floor',
      parentId: building.id,
    });
    const room = await s.api.locations.create({
      name: 'Boiler room',
      kind: 'room',
      parentId: floor.id,
    });
    for (let i = 0; i < 7; i++) {
      await s.api.devices.create({
        name: `sensor-${i}`,
        type: i % 2 ? 'esp32' : 'nrf52',
        tags: i < 3 ? ['temp', 'hall'] : ['temp'],
        locationId: i < 2 ? room.id : null,
      });
    }
    assert.equal((await s.api.devices.list({ type: 'esp32', q: 'sensor' })).items.length, 3);
    assert.equal((await s.api.devices.list({ tag: ['temp', 'hall'] })).items.length, 3);
    assert.equal((await s.api.devices.list({ location: site.id })).items.length, 2);
    assert.equal((await s.api.devices.list({ location: floor.id, type: 'nrf52' })).items.length, 1);
    assert.equal((await s.api.devices.list({ state: 'active' })).items.length, 0);
    const names: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const p = await s.api.devices.list({ q: 'sensor', limit: 3, ...(cursor ? { cursor } : {}) });
      names.push(...p.items.map((d) => d.name));
      if (!p.nextCursor) break;
      cursor = p.nextCursor;
    }
    assert.deepEqual(names, [
      'sensor-0',
      'sensor-1',
      'sensor-2',
      'sensor-3',
      'sensor-4',
      'sensor-5',
      'sensor-6',
    ]);
    const badCursor = await raw(t, 'GET', '/devices?cursor=%%%', undefined, s.apiKey);
    assert.equal(badCursor.json['code'], 'invalid_cursor');
  });
  it('keeps the tree site → building → floor → room and refuses deleting a non-empty node', async () => {
    const site = await s.api.locations.create({ name: 'Depot', kind: 'site' });
    await rejectsWith(
      s.api.locations.create({ name: 'Loose room', kind: 'room' }),
      'location_parent_invalid',
    );
    await rejectsWith(
      s.api.locations.create({ name: 'Room in site', kind: 'room', parentId: site.id }),
      'location_parent_invalid',
    );
    const b = await s.api.locations.create({ name: 'B', kind: 'building', parentId: site.id });
    await rejectsWith(s.api.locations.delete(site.id), 'location_not_empty');
    const d = await s.api.devices.create({ name: 'in-b', type: 'x', locationId: b.id });
    await rejectsWith(s.api.locations.delete(b.id), 'location_not_empty');
    await s.api.devices.update(d.id, { locationId: null });
    await s.api.locations.delete(b.id);
    await s.api.locations.delete(site.id);
    await rejectsWith(s.api.locations.get(site.id), 'not_found');
  });
  it('quarantines and releases a device; a decommissioned one no longer changes', async () => {
    const d = await s.api.devices.create({ name: 'q-1', type: 'x' });
    assert.equal((await s.api.devices.update(d.id, { state: 'quarantined' })).state, 'quarantined');
    assert.equal((await s.api.devices.update(d.id, { state: 'active' })).state, 'active');
    assert.equal((await s.api.devices.decommission(d.id)).state, 'decommissioned');
    await rejectsWith(s.api.devices.update(d.id, { name: 'back' }), 'device_decommissioned');
    const r = await raw(t, 'PATCH', `/devices/${d.id}`, { state: 'decommissioned' }, s.apiKey);
    assert.equal(r.json['code'], 'validation_failed');
  });
});
