/**
 * `GET /devices` sorted and read by position (issue 15, the console's fleet table at 10,000
 * devices; decision 0038 amendment): `sort`/`offset` give `total` and each device's `online`, the
 * new filters (`online`, `firmwareVersion`) compose with the old ones, and a position cursor
 * pages the sorted list. Mixed or foreign cursors are refused and nothing leaks across
 * organizations.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { paginate } from '@bulwark/sdk';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('device list: sorted, by position, with presence', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const created: { id: string; name: string }[] = [];
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    for (let i = 0; i < 12; i++) {
      const d = await s.api.devices.create({
        name: `dev-${String(11 - i).padStart(2, '0')}`,
        type: i % 2 === 0 ? 'even' : 'odd',
        ...(i % 3 === 0 ? {} : { firmwareVersion: `1.${i % 3}.0` }),
      });
      created.push(d);
    }
    // Two devices online, as the presence service records a connection.
    for (const d of created.slice(0, 2)) {
      await t.hub.storage.presence.put({
        orgId: s.orgId,
        deviceId: d.id,
        online: true,
        mode: null,
        since: Date.now(),
        lastSeenAt: Date.now(),
        sessionId: null,
        metrics: null,
      });
    }
  });
  after(() => t.close());

  it('sorts either way and gives total and online; the id-ordered list is as before', async () => {
    const up = await s.api.devices.list({ sort: 'name', limit: 5 });
    assert.deepEqual(
      up.items.map((d) => d.name),
      ['dev-00', 'dev-01', 'dev-02', 'dev-03', 'dev-04'],
    );
    assert.equal(up.total, 12);
    assert.equal(typeof up.nextCursor, 'string');
    const down = await s.api.devices.list({ sort: '-name', limit: 2 });
    assert.deepEqual(
      down.items.map((d) => [d.name, d.online]),
      [
        ['dev-11', true],
        ['dev-10', true],
      ],
    );
    const plain = await s.api.devices.list({ limit: 2 });
    assert.equal(plain.total, undefined);
    assert.equal(plain.items[0]?.online, undefined);
    assert.equal(plain.items[0]?.id, created[0]?.id);
  });

  it('reads any position with offset, and paginate() walks the sorted list by its cursor', async () => {
    const at = await s.api.devices.list({ sort: 'name', offset: 10, limit: 5 });
    assert.deepEqual(
      at.items.map((d) => d.name),
      ['dev-10', 'dev-11'],
    );
    assert.equal(at.nextCursor, null);
    const all: string[] = [];
    for await (const d of paginate((cursor) =>
      s.api.devices.list({ sort: '-createdAt', limit: 5, ...(cursor ? { cursor } : {}) }),
    ))
      all.push(d.id);
    assert.deepEqual(all, created.map((d) => d.id).reverse());
  });

  it('filters by online and firmware version, composed with type; total counts them', async () => {
    const on = await s.api.devices.list({ sort: 'name', online: true });
    assert.deepEqual(
      on.items.map((d) => d.name),
      ['dev-10', 'dev-11'],
    );
    const off = await s.api.devices.list({ sort: 'name', online: false, limit: 1 });
    assert.equal(off.total, 10);
    const fw = await s.api.devices.list({ sort: 'name', firmwareVersion: '1.1.0', type: 'even' });
    assert.deepEqual(
      fw.items.map((d) => [d.name, d.firmwareVersion, d.type]),
      [
        ['dev-01', '1.1.0', 'even'],
        ['dev-07', '1.1.0', 'even'],
      ],
    );
    assert.equal(fw.total, 2);
    // Query strings are coerced: online=false is false, not the string.
    const q = await raw(t, 'GET', '/devices?sort=name&online=false&limit=1', undefined, s.apiKey);
    assert.equal(q.status, 200);
    assert.equal(q.json['total'], 10);
  });

  it('refuses mixed or foreign cursors, bad sorts and offsets past the bound', async () => {
    const idCursor = (await s.api.devices.list({ limit: 2 })).nextCursor!;
    const posCursor = (await s.api.devices.list({ sort: 'name', limit: 2 })).nextCursor!;
    await rejectsWith(s.api.devices.list({ sort: 'name', cursor: idCursor }), 'invalid_cursor');
    await rejectsWith(s.api.devices.list({ cursor: posCursor }), 'invalid_cursor');
    const both = await raw(
      t,
      'GET',
      `/devices?sort=name&offset=2&cursor=${posCursor}`,
      undefined,
      s.apiKey,
    );
    assert.equal(both.status, 400);
    assert.equal(both.json['code'], 'validation_failed');
    assert.equal(both.json['field'], 'offset');
    for (const bad of [
      'sort=id',
      'sort=name;drop',
      'offset=-1',
      'offset=1000001',
      'online=maybe',
    ]) {
      const r = await raw(t, 'GET', `/devices?${bad}`, undefined, s.apiKey);
      assert.equal(r.status, 400, bad);
      assert.equal(r.json['code'], 'validation_failed', bad);
    }
  });

  it('shows another organization none of these devices and none of their presence', async () => {
    const other = await s.owner.orgs.create({ name: 'Other' });
    const tokens = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: other.id,
    });
    const theirs = t.client(tokens.accessToken);
    const w = await theirs.devices.list({ sort: 'name', online: true });
    assert.deepEqual(w.items, []);
    assert.equal(w.total, 0);
    assert.equal((await theirs.devices.list({ sort: 'name' })).total, 0);
  });
});
