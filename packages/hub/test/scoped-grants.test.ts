/**
 * Scoped grants (decision 0046): a member holds extra permissions on a device group — a location
 * subtree and/or a tag — and the hub allows a device action if the org-wide grant or a scoped
 * grant covering the device **where it is now** holds the permission. Granting follows decision
 * 0013 on the group: never beyond the granter's own permissions there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '@bulwark/core';
import type { BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('scoped grants on device groups', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const loc: Record<string, string> = {};
  const dev: Record<string, string> = {};
  let alice: BulwarkClient; // a viewer, devices:manage + firmware:update on building-3
  let aliceId: string;
  let aliceToken: string;
  let dave: BulwarkClient; // a viewer with users:manage, devices:manage on building-3 only
  let daveId: string;
  let erinId: string;
  let foreignLocation: string;

  const login = async (email: string) =>
    (await t.client().auth.login({ email, password: PASSWORD })).accessToken;
  const addUser = async (email: string, grants: string[] = []) =>
    (
      await s.owner.users.create({
        email,
        name: email.split('@')[0]!,
        password: PASSWORD,
        role: 'viewer',
        ...(grants.length ? { grants: grants } : {}),
      })
    ).id;

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    const site = await s.owner.locations.create({ name: 'Plant', kind: 'site' });
    loc['b3'] = (
      await s.owner.locations.create({ name: 'building-3', kind: 'building', parentId: site.id })
    ).id;
    loc['b4'] = (
      await s.owner.locations.create({ name: 'building-4', kind: 'building', parentId: site.id })
    ).id;
    loc['f1'] = (
      await s.owner.locations.create({ name: 'floor-1', kind: 'floor', parentId: loc['b3'] })
    ).id;
    const mk = async (name: string, locationId: string | null, tags: string[] = []) =>
      (
        await s.owner.devices.create({
          name,
          type: 'pump',
          tags,
          ...(locationId ? { locationId } : {}),
        })
      ).id;
    dev['in'] = await mk('in-b3', loc['f1']);
    dev['in2'] = await mk('in-b3-2', loc['b3']);
    dev['out'] = await mk('out-b4', loc['b4']);
    dev['tagged'] = await mk('tagged', null, ['pumps']);
    aliceId = await addUser('alice@example.com');
    await s.owner.users.addScopedGrant(aliceId, {
      permissions: ['devices:manage', 'firmware:update'],
      locationId: loc['b3'],
    });
    aliceToken = await login('alice@example.com');
    alice = t.client(aliceToken);
    daveId = await addUser('dave@example.com', ['users:manage']);
    await s.owner.users.addScopedGrant(daveId, {
      permissions: ['devices:manage'],
      locationId: loc['b3'],
    });
    dave = t.client(await login('dave@example.com'));
    erinId = await addUser('erin@example.com');
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const t2 = await t
      .client()
      .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id });
    foreignLocation = (
      await t.client(t2.accessToken).locations.create({ name: 'theirs', kind: 'site' })
    ).id;
  });
  after(() => t.close());

  it('acts on devices inside the group and gets 403 outside', async () => {
    const me = await alice.me();
    assert.deepEqual(me.permissions, ['devices:read'], 'org-wide: a viewer');
    assert.equal(me.scopedGrants?.[0]?.locationId, loc['b3']);
    // twin and command: the subtree (floor-1 under building-3) and the building itself
    await alice.twins.patchDesired(dev['in']!, { led: 'on' });
    await alice.twins.patchDesired(dev['in2']!, { led: 'on' });
    await alice.commands.send(dev['in']!, { name: 'reboot' });
    await rejectsWith(alice.twins.patchDesired(dev['out']!, { led: 'on' }), 'forbidden');
    await rejectsWith(alice.commands.send(dev['out']!, { name: 'reboot' }), 'forbidden');
    assert.deepEqual((await s.owner.twins.get(dev['out']!)).desired.state, {});
    // a firmware update: inside, the permission passes and the unknown artifact is what fails
    await rejectsWith(alice.updates.deploy(dev['in']!, newId()), 'not_found');
    await rejectsWith(alice.updates.deploy(dev['out']!, newId()), 'forbidden');
    // quarantine (state only) inside; not outside; not a rename or a move even inside
    await alice.devices.update(dev['in']!, { state: 'quarantined' });
    assert.equal((await s.owner.devices.get(dev['in']!)).state, 'quarantined');
    await alice.devices.update(dev['in']!, { state: 'active' });
    await rejectsWith(alice.devices.update(dev['out']!, { state: 'quarantined' }), 'forbidden');
    await rejectsWith(alice.devices.update(dev['in']!, { name: 'renamed' }), 'forbidden');
    await rejectsWith(alice.devices.update(dev['in']!, { locationId: loc['b4']! }), 'forbidden');
    assert.equal((await s.owner.devices.get(dev['in']!)).locationId, loc['f1']);
    // a local-port ticket (the device was made active by the release above): operate inside,
    // not outside, and never the admin level (org:manage is not scopable)
    assert.equal((await alice.tickets.issue(dev['in']!, { perm: 'operate' })).deviceId, dev['in']);
    await rejectsWith(alice.tickets.issue(dev['out']!, { perm: 'operate' }), 'forbidden');
    await rejectsWith(alice.tickets.issue(dev['in']!, { perm: 'admin' }), 'forbidden');
    // unknown or other organizations' device ids: refused without saying which
    await rejectsWith(alice.twins.patchDesired(newId(), { led: 'on' }), 'forbidden');
    // listing stays governed by the org-wide devices:read
    assert.equal((await alice.devices.list()).items.length, 4);
  });

  it('bulk actions refuse per device; tag and move stay org-wide; rollouts need org-wide', async () => {
    const q = await alice.devices.bulkAction({
      deviceIds: [dev['in']!, dev['out']!, dev['in2']!],
      action: { kind: 'quarantine' },
    });
    assert.deepEqual(
      q.results.map((r) => [r.deviceId, r.ok, r.code]),
      [
        [dev['in'], true, undefined],
        [dev['out'], false, 'forbidden'],
        [dev['in2'], true, undefined],
      ],
    );
    assert.equal((await s.owner.devices.get(dev['out']!)).state, 'provisioned');
    await alice.devices.bulkAction({
      deviceIds: [dev['in']!, dev['in2']!],
      action: { kind: 'release' },
    });
    const tag = await alice.devices.bulkAction({
      deviceIds: [dev['in']!],
      action: { kind: 'tag', add: ['pumps'] },
    });
    assert.equal(tag.results[0]?.code, 'forbidden');
    const r = await raw(
      t,
      'POST',
      '/rollouts',
      { artifactId: newId(), target: { location: loc['b3'] } },
      aliceToken,
    );
    assert.equal(r.status, 403, 'a rollout needs firmware:update organization-wide');
  });

  it('moving a device out of the location, or untagging it, ends the right at the next request', async () => {
    await alice.twins.patchDesired(dev['in']!, { rate: 1 });
    await s.owner.devices.update(dev['in']!, { locationId: loc['b4']! });
    await rejectsWith(alice.twins.patchDesired(dev['in']!, { rate: 2 }), 'forbidden');
    await s.owner.devices.update(dev['in']!, { locationId: loc['f1']! });
    await alice.twins.patchDesired(dev['in']!, { rate: 3 });
    // a tag-scoped grant follows the tag
    const g = await s.owner.users.addScopedGrant(aliceId, {
      permissions: ['devices:manage'],
      tag: 'pumps',
    });
    await alice.commands.send(dev['tagged']!, { name: 'reboot' });
    await s.owner.devices.update(dev['tagged']!, { tags: [] });
    await rejectsWith(alice.commands.send(dev['tagged']!, { name: 'reboot' }), 'forbidden');
    // and taking the grant back ends it too
    const grantId = g.scopedGrants.find((x) => x.tag === 'pumps')!.id;
    await s.owner.devices.update(dev['tagged']!, { tags: ['pumps'] });
    await s.owner.users.removeScopedGrant(aliceId, grantId);
    await rejectsWith(alice.commands.send(dev['tagged']!, { name: 'reboot' }), 'forbidden');
  });

  it('a scoped holder grants only within its own scope and permissions', async () => {
    // inside its group (floor-1 is under building-3), what it holds there: allowed
    const ok = await dave.users.addScopedGrant(erinId, {
      permissions: ['devices:manage'],
      locationId: loc['f1']!,
    });
    assert.equal(ok.scopedGrants.length, 1);
    assert.equal(ok.scopedGrants[0]?.grantedBy, daveId);
    // another group, a wider one (a tag anywhere), more than it holds there: refused
    for (const body of [
      { permissions: ['devices:manage'], locationId: loc['b4']! },
      { permissions: ['devices:manage'], tag: 'pumps' },
      { permissions: ['firmware:update'], locationId: loc['f1']! },
      { permissions: ['port:ssh'], locationId: loc['f1']! },
    ]) {
      const e = await rejectsWith(dave.users.addScopedGrant(erinId, body), 'forbidden');
      assert.match(e.message, /missing/, JSON.stringify(body));
    }
    // nobody widens their own scope
    await rejectsWith(
      dave.users.addScopedGrant(daveId, {
        permissions: ['devices:manage'],
        locationId: loc['f1']!,
      }),
      'forbidden',
    );
    // a scoped right does not pass into an API key (keys are org-wide, within org-wide rights)
    await rejectsWith(
      dave.apiKeys.create({ name: 'wider', permissions: ['devices:manage'] }),
      'forbidden',
    );
    // dave cannot change alice, who holds firmware:update on building-3, which dave lacks there
    await rejectsWith(dave.users.update(aliceId, { role: 'viewer' }), 'forbidden');
    await rejectsWith(dave.users.remove(aliceId), 'forbidden');
    const owners = (await s.owner.users.list()).find((u) => u.id === erinId)!;
    assert.equal(owners.scopedGrants.length, 1, 'nothing refused was written');
  });

  it('an API key cannot grant beyond itself; bad scopes are refused and change nothing', async () => {
    const { key } = await s.owner.apiKeys.create({
      name: 'users-only',
      permissions: ['users:manage', 'devices:read'],
    });
    await rejectsWith(
      t.client(key).users.addScopedGrant(erinId, {
        permissions: ['devices:manage'],
        locationId: loc['b3']!,
      }),
      'forbidden',
    );
    const bad = [
      { permissions: ['devices:manage'], locationId: foreignLocation },
      { permissions: ['devices:manage'] },
      { permissions: ['users:manage'], locationId: loc['b3'] },
      { permissions: ['devices:read'], locationId: loc['b3'] },
      { permissions: [], locationId: loc['b3'] },
      { permissions: ['devices:manage'], tag: 'bad tag' },
    ];
    for (const body of bad) {
      const r = await raw(t, 'POST', `/users/${erinId}/scoped-grants`, body, s.tokens.accessToken);
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    // the owner holds everything already
    const r = await raw(
      t,
      'POST',
      `/users/${s.userId}/scoped-grants`,
      { permissions: ['devices:manage'], locationId: loc['b3'] },
      s.tokens.accessToken,
    );
    assert.equal(r.status, 403, 'the owner is its own member: a self-grant');
    const erin = (await s.owner.users.list()).find((u) => u.id === erinId)!;
    assert.equal(erin.scopedGrants.length, 1);
    // removal: only by one who could have given it; an unknown grant id is not_found
    const gid = erin.scopedGrants[0]!.id;
    await rejectsWith(dave.users.removeScopedGrant(erinId, newId()), 'not_found');
    await rejectsWith(t.client(key).users.removeScopedGrant(erinId, gid), 'forbidden');
    await dave.users.removeScopedGrant(erinId, gid);
    // every change is in the audit log, with the grant
    const audit = (await s.owner.audit.list({ limit: 200 })).items;
    const added = audit.filter((a) => a.action === 'addScopedGrant' && a.result === 'success');
    assert.ok(added.length >= 4, `audited grants: ${added.length}`);
    assert.ok(audit.some((a) => a.action === 'removeScopedGrant' && a.targetId === erinId));
    assert.ok(
      audit.some((a) => a.action === 'addScopedGrant' && a.result === 'failure'),
      'refusals are audited',
    );
  });
});
