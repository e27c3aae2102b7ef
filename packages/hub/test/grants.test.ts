/**
 * Issue 11, grant escalation: a grant never exceeds the granter's own permissions, nobody touches
 * a member who holds more than they do, and the owner role changes hands only by an ownership
 * transfer (decision 0013). Each path of the finding, through the HTTP API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('grants never exceed the granter', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let admin: BulwarkClient;
  let adminId: string;

  const loginAs = async (email: string) =>
    t.client((await t.client().auth.login({ email, password: PASSWORD })).accessToken);
  const member = async (id: string) => (await s.owner.users.list()).find((u) => u.id === id)!;

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    adminId = (
      await s.owner.users.create({
        email: 'admin@example.com',
        name: 'Admin',
        password: PASSWORD,
        role: 'admin',
      })
    ).id;
    admin = await loginAs('admin@example.com');
  });
  after(() => t.close());

  it('an admin cannot grant itself org:manage', async () => {
    const e = await rejectsWith(
      admin.users.update(adminId, { grants: ['org:manage'] }),
      'forbidden',
    );
    assert.match(e.message, /org:manage/);
    assert.deepEqual((await member(adminId)).grants, []);
  });

  it('an admin cannot make itself (or anyone) owner', async () => {
    await rejectsWith(admin.users.update(adminId, { role: 'owner' }), 'forbidden');
    assert.equal((await member(adminId)).role, 'admin');
    await rejectsWith(
      admin.users.create({ email: 'o2@example.com', name: 'O', password: PASSWORD, role: 'owner' }),
      'forbidden',
    );
  });

  it('not even an owner hands out the owner role by create or update', async () => {
    const e = await rejectsWith(
      s.owner.users.create({
        email: 'o3@example.com',
        name: 'O',
        password: PASSWORD,
        role: 'owner',
      }),
      'forbidden',
    );
    assert.match(e.message, /ownership transfer/);
    await rejectsWith(s.owner.users.update(adminId, { role: 'owner' }), 'forbidden');
    assert.equal((await member(adminId)).role, 'admin');
  });

  it('an admin, even one granted org:manage, cannot demote or remove the owner', async () => {
    await rejectsWith(admin.users.update(s.userId, { role: 'viewer' }), 'forbidden');
    await rejectsWith(admin.users.remove(s.userId), 'forbidden');
    const { id } = await s.owner.users.create({
      email: 'comanager@example.com',
      name: 'C',
      password: PASSWORD,
      role: 'admin',
      grants: ['org:manage'],
    });
    const comanager = await loginAs('comanager@example.com');
    await rejectsWith(comanager.users.update(s.userId, { role: 'admin' }), 'forbidden');
    await rejectsWith(comanager.users.remove(s.userId), 'forbidden');
    assert.equal((await member(s.userId)).role, 'owner');
    // and an admin cannot touch the co-manager, who holds org:manage
    await rejectsWith(admin.users.update(id, { role: 'viewer' }), 'forbidden');
    await rejectsWith(admin.users.remove(id), 'forbidden');
    await rejectsWith(admin.users.update(id, { grants: [] }), 'forbidden');
    assert.deepEqual((await member(id)).grants, ['org:manage']);
  });

  it('an admin manages members within its own permissions', async () => {
    const v = await admin.users.create({
      email: 'viewer@example.com',
      name: 'V',
      password: PASSWORD,
      role: 'viewer',
    });
    const updated = await admin.users.update(v.id, { role: 'operator', grants: ['audit:read'] });
    assert.equal(updated.role, 'operator');
    await admin.users.remove(v.id);
  });

  it('a key holding only users:manage cannot create a user with more than it holds', async () => {
    const { key } = await s.owner.apiKeys.create({
      name: 'users-only',
      permissions: ['users:manage'],
    });
    const keyClient = t.client(key);
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      const r = await raw(
        t,
        'POST',
        '/users',
        { email: `k-${role}@example.com`, name: 'K', password: PASSWORD, role },
        key,
      );
      assert.equal(r.status, 403, role);
      assert.equal(r.json['code'], 'forbidden');
    }
    await rejectsWith(
      keyClient.users.create({
        email: 'k-grants@example.com',
        name: 'K',
        password: PASSWORD,
        role: 'viewer',
        grants: ['api-keys:manage', 'org:manage'],
      }),
      'forbidden',
    );
    assert.equal(
      (await s.owner.users.list()).filter((u) => u.email.startsWith('k-')).length,
      0,
      'no user was created',
    );
  });

  it('so no one reaches an all-permission API key: a user can mint only within its grants', async () => {
    await s.owner.users.create({
      email: 'keymaker@example.com',
      name: 'KM',
      password: PASSWORD,
      role: 'viewer',
      grants: ['api-keys:manage'],
    });
    const keymaker = await loginAs('keymaker@example.com');
    await rejectsWith(
      keymaker.apiKeys.create({
        name: 'all',
        permissions: ['org:manage', 'users:manage', 'api-keys:manage', 'devices:manage'],
      }),
      'forbidden',
    );
    const { apiKey } = await keymaker.apiKeys.create({
      name: 'reader',
      permissions: ['devices:read'],
    });
    assert.deepEqual(apiKey.permissions, ['devices:read']);
  });

  it('port:<name> grants: an owner may give them, an admin only those it holds', async () => {
    const op = await s.owner.users.create({
      email: 'porter@example.com',
      name: 'P',
      password: PASSWORD,
      role: 'operator',
      grants: ['port:ssh'],
    });
    assert.deepEqual(op.grants, ['port:ssh']);
    // the admin lacks port:ssh, so it may neither give it nor change the member who holds it
    await rejectsWith(
      admin.users.create({
        email: 'porter2@example.com',
        name: 'P',
        password: PASSWORD,
        role: 'viewer',
        grants: ['port:ssh'],
      }),
      'forbidden',
    );
    await rejectsWith(admin.users.update(op.id, { role: 'viewer' }), 'forbidden');
  });
});

describe('ownership transfer', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('only an owner transfers, to a member; the previous owner stays as an admin', async () => {
    const heir = await s.owner.users.create({
      email: 'heir@example.com',
      name: 'Heir',
      password: PASSWORD,
      role: 'admin',
    });
    const heirClient = t.client(
      (await t.client().auth.login({ email: 'heir@example.com', password: PASSWORD })).accessToken,
    );
    // an admin cannot take it; an API key (even with org:manage) cannot give it
    await rejectsWith(heirClient.orgs.transferOwnership(heir.id), 'forbidden');
    const { key } = await s.owner.apiKeys.create({ name: 'om', permissions: ['org:manage'] });
    await rejectsWith(t.client(key).orgs.transferOwnership(heir.id), 'forbidden');
    // not to oneself, nor to a stranger
    await rejectsWith(s.owner.orgs.transferOwnership(s.userId), 'conflict');
    await rejectsWith(
      s.owner.orgs.transferOwnership('0190f5a0-0000-7000-8000-000000000000'),
      'not_found',
    );

    const r = await s.owner.orgs.transferOwnership(heir.id);
    assert.equal(r.owner.id, heir.id);
    assert.equal(r.owner.role, 'owner');
    assert.equal(r.previousOwner.id, s.userId);
    assert.equal(r.previousOwner.role, 'admin');
    const roles = Object.fromEntries((await heirClient.users.list()).map((u) => [u.id, u.role]));
    assert.deepEqual(roles, { [heir.id]: 'owner', [s.userId]: 'admin' });
    // permissions are re-read per request: the old owner's token is an admin's now
    const me = await s.owner.me();
    assert.equal(me.role, 'admin');
    assert.ok(!me.permissions.includes('org:manage'));
    await rejectsWith(s.owner.orgs.transferOwnership(s.userId), 'forbidden');
    // the new owner may hand it back
    await heirClient.orgs.transferOwnership(s.userId);
    assert.equal((await s.owner.me()).role, 'owner');
  });
});

describe('organizations per user are capped', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub(['--max-orgs-per-user', '3']);
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('refuses the organization beyond the limit with organization_limit and creates nothing', async () => {
    await s.owner.orgs.create({ name: 'Second' });
    await s.owner.orgs.create({ name: 'Third' });
    const r = await raw(t, 'POST', '/orgs', { name: 'Fourth' }, s.tokens.accessToken);
    assert.equal(r.status, 409);
    assert.equal(r.json['code'], 'organization_limit');
    assert.equal(r.json['limit'], 3);
    assert.deepEqual((await s.owner.orgs.list()).map((o) => o.name).sort(), [
      'Acme',
      'Second',
      'Third',
    ]);
  });

  it('defaults to 20', async () => {
    const t2 = await startTestHub();
    try {
      const s2 = await setupOwner(t2);
      for (let i = 2; i <= 20; i++) await s2.owner.orgs.create({ name: `Org ${i}` });
      await rejectsWith(s2.owner.orgs.create({ name: 'Org 21' }), 'organization_limit');
    } finally {
      await t2.close();
    }
  });
});
