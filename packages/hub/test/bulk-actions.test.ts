/**
 * Bulk actions on a device selection (issue 15 item 2, decision 0038 amendment): tag, move,
 * quarantine, release and update, applied device by device. A device the caller may not act on —
 * another organization's, a decommissioned one, one the artifact does not fit, or any when the
 * caller lacks the action's permission — is refused alone, with the code the single-device call
 * gives, and stays exactly as it was; the others change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '@bulwark/core';
import { MAX_BULK_ACTION_DEVICES } from '@bulwark/protocol';
import { PASSWORD, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('bulk actions, per device', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let ids: string[];
  let foreign: string;
  let gone: string;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await s.api.devices.create({ name: `pump-${i}`, type: 'pump', tags: ['a'] })).id);
    gone = (await s.api.devices.create({ name: 'old', type: 'pump' })).id;
    await s.api.devices.decommission(gone);
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const t2 = await t
      .client()
      .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id });
    foreign = (await t.client(t2.accessToken).devices.create({ name: 'theirs', type: 'pump' })).id;
  });
  after(() => t.close());

  it('tags the selection; another organization’s and a decommissioned device are refused alone', async () => {
    const r = await s.api.devices.bulkAction({
      deviceIds: [ids[0]!, foreign, ids[1]!, gone],
      action: { kind: 'tag', add: ['roof'], remove: ['a'] },
    });
    assert.equal(r.applied, 2);
    assert.equal(r.refused, 2);
    assert.deepEqual(
      r.results.map((x) => [x.deviceId, x.ok, x.code]),
      [
        [ids[0], true, undefined],
        [foreign, false, 'not_found'],
        [ids[1], true, undefined],
        [gone, false, 'device_decommissioned'],
      ],
    );
    assert.deepEqual((await s.api.devices.get(ids[0]!)).tags, ['roof']);
    assert.deepEqual((await s.api.devices.get(ids[2]!)).tags, ['a'], 'not selected: unchanged');
    assert.deepEqual((await s.api.devices.get(gone)).tags, []);
  });

  it('moves and quarantines, then releases; an unknown location is refused per device', async () => {
    const site = await s.api.locations.create({ name: 'Plant', kind: 'site' });
    const moved = await s.api.devices.bulkAction({
      deviceIds: [ids[0]!, ids[1]!],
      action: { kind: 'move', locationId: site.id },
    });
    assert.equal(moved.applied, 2);
    assert.equal((await s.api.devices.get(ids[1]!)).locationId, site.id);
    const bad = await s.api.devices.bulkAction({
      deviceIds: [ids[2]!],
      action: { kind: 'move', locationId: newId() },
    });
    assert.equal(bad.results[0]?.code, 'not_found');
    assert.equal((await s.api.devices.get(ids[2]!)).locationId, null);
    const q = await s.api.devices.bulkAction({ deviceIds: ids, action: { kind: 'quarantine' } });
    assert.equal(q.applied, 3);
    assert.equal((await s.api.devices.get(ids[2]!)).state, 'quarantined');
    await s.api.devices.bulkAction({ deviceIds: ids, action: { kind: 'release' } });
    assert.equal((await s.api.devices.get(ids[2]!)).state, 'active');
  });

  it('refuses every device to a caller without the action’s permission, changing none', async () => {
    await s.owner.users.create({
      email: 'viewer@example.com',
      name: 'Vic',
      password: PASSWORD,
      role: 'viewer',
    });
    const v = t.client(
      (await t.client().auth.login({ email: 'viewer@example.com', password: PASSWORD }))
        .accessToken,
    );
    const r = await v.devices.bulkAction({ deviceIds: ids, action: { kind: 'quarantine' } });
    assert.equal(r.applied, 0);
    assert.deepEqual(
      r.results.map((x) => x.code),
      ['forbidden', 'forbidden', 'forbidden'],
    );
    for (const id of ids) assert.equal((await s.api.devices.get(id)).state, 'active');
    // An operator may tag but not update firmware without firmware:update: the API key here
    // holds devices:manage only.
    const u = await s.api.devices.bulkAction({
      deviceIds: [ids[0]!],
      action: { kind: 'update', artifactId: newId() },
    });
    assert.equal(u.results[0]?.code, 'forbidden');
    // With the permission, an unknown artifact is refused per device (nothing deployed).
    const o = await s.owner.devices.bulkAction({
      deviceIds: [ids[0]!],
      action: { kind: 'update', artifactId: newId() },
    });
    assert.equal(o.results[0]?.ok, false);
    assert.equal((await s.owner.updates.list({ deviceId: ids[0]! })).items.length, 0);
  });

  it('patches the desired twin and queues a command per device; foreign and decommissioned refused', async () => {
    const tw = await s.api.devices.bulkAction({
      deviceIds: [ids[0]!, foreign, ids[1]!, gone],
      action: { kind: 'twin', patch: { led: 'on', rate: 5 } },
    });
    assert.deepEqual(
      tw.results.map((x) => [x.deviceId, x.ok, x.code]),
      [
        [ids[0], true, undefined],
        [foreign, false, 'not_found'],
        [ids[1], true, undefined],
        [gone, false, 'device_decommissioned'],
      ],
    );
    assert.deepEqual((await s.api.twins.get(ids[1]!)).desired.state, { led: 'on', rate: 5 });
    assert.deepEqual((await s.api.twins.get(ids[2]!)).desired.state, {}, 'not selected');
    assert.deepEqual((await s.owner.twins.get(gone)).desired.state, {});
    const cmd = await s.api.devices.bulkAction({
      deviceIds: [ids[2]!, gone],
      action: { kind: 'command', name: 'reboot', params: { delay: 5 }, timeoutSeconds: 60 },
    });
    assert.deepEqual(
      cmd.results.map((x) => [x.ok, x.code]),
      [
        [true, undefined],
        [false, 'device_decommissioned'],
      ],
    );
    const queued = (await s.api.commands.list(ids[2]!)).items;
    assert.deepEqual(
      queued.map((c) => [c.name, c.params]),
      [['reboot', { delay: 5 }]],
    );
    assert.equal((await s.api.commands.list(ids[0]!)).items.length, 0);
    // Bad twin and command bodies are refused whole (the single-device schemas).
    for (const action of [
      { kind: 'twin' },
      { kind: 'twin', patch: [1] },
      { kind: 'command', name: '1bad' },
      { kind: 'command', name: 'reboot', params: 'x' },
      { kind: 'command', name: 'reboot', extra: 1 },
    ]) {
      const r = await raw(
        t,
        'POST',
        '/devices/bulk/actions',
        { deviceIds: [ids[0]], action },
        s.apiKey,
      );
      assert.equal(r.status, 400, JSON.stringify(action));
    }
  });

  it('refuses a malformed request whole: no devices, too many, duplicates, unknown action', async () => {
    const many = Array.from({ length: MAX_BULK_ACTION_DEVICES + 1 }, () => newId());
    for (const body of [
      { deviceIds: [], action: { kind: 'quarantine' } },
      { deviceIds: many, action: { kind: 'quarantine' } },
      { deviceIds: [ids[0], ids[0]], action: { kind: 'quarantine' } },
      { deviceIds: [ids[0]], action: { kind: 'delete' } },
      { deviceIds: [ids[0]], action: { kind: 'tag' } },
      { deviceIds: ['not-an-id'], action: { kind: 'release' } },
    ]) {
      const r = await raw(t, 'POST', '/devices/bulk/actions', body, s.apiKey);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
    }
    assert.equal((await s.api.devices.get(ids[0]!)).state, 'active');
  });
});
