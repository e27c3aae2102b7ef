import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId } from '@bulwark/core';
import {
  T0,
  apiKeyFx,
  membershipFx,
  orgFx,
  seedOrg,
  seedUser,
  sessionFx,
  userFx,
} from './fixtures.js';
import { rejectsWithCode, useStorage, type OpenStorage } from './harness.js';

/** OrganizationStore: create, bootstrap (atomic), get, listByIds, count. */
export function organizationSuite(open: OpenStorage): void {
  describe('OrganizationStore', () => {
    const s = useStorage(open);

    it('create then get returns the same record; an unknown id is undefined', async () => {
      const org = orgFx();
      await s().organizations.create(org);
      assert.deepEqual(await s().organizations.get(org.id), org);
      assert.equal(await s().organizations.get(newId()), undefined);
    });

    it('list returns organizations ordered by id, up to the limit', async () => {
      const a = orgFx();
      const b = orgFx();
      await s().organizations.create(a);
      await s().organizations.create(b);
      const ids = (await s().organizations.list(10_000)).map((o) => o.id);
      assert.ok(ids.indexOf(a.id) >= 0 && ids.indexOf(a.id) < ids.indexOf(b.id));
      assert.deepEqual(ids, [...ids].sort());
      assert.equal((await s().organizations.list(1)).length, 1);
    });
    it('listByIds returns just the known ones, ordered by id; [] gives []', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      await seedOrg(s());
      const got = await s().organizations.listByIds([b.id, newId(), a.id]);
      assert.deepEqual(got, [a, b]);
      assert.deepEqual(await s().organizations.listByIds([]), []);
    });

    it('count counts organizations', async () => {
      const before = await s().organizations.count();
      await seedOrg(s());
      await seedOrg(s());
      assert.equal(await s().organizations.count(), before + 2);
    });

    it('bootstrap creates the organization, user and membership together', async () => {
      const org = orgFx();
      const user = userFx();
      const m = membershipFx(org.id, user.id, { role: 'owner', grants: ['audit:read'] });
      await s().organizations.bootstrap(org, user, m);
      assert.deepEqual(await s().organizations.get(org.id), org);
      assert.deepEqual(await s().users.get(user.id), user);
      assert.deepEqual(await s().memberships.get(org.id, user.id), m);
    });

    it('bootstrap with a taken email fails with email_taken and creates nothing', async () => {
      const existing = await seedUser(s());
      const org = orgFx();
      const user = userFx({ email: existing.email.toUpperCase() });
      const orgs = await s().organizations.count();
      await rejectsWithCode(
        s().organizations.bootstrap(org, user, membershipFx(org.id, user.id, { role: 'owner' })),
        'email_taken',
      );
      assert.equal(await s().organizations.get(org.id), undefined);
      assert.equal(await s().users.get(user.id), undefined);
      assert.equal(await s().organizations.count(), orgs);
    });
  });
}

/** UserStore: create, get, getByEmail (case-insensitive), update, count, email_taken. */
export function userSuite(open: OpenStorage): void {
  describe('UserStore', () => {
    const s = useStorage(open);

    it('create then get returns the same record; an unknown id is undefined', async () => {
      const user = userFx({ totpSecretSealed: 'sealed', totpEnabled: true, lockedUntil: T0 + 5 });
      await s().users.create(user);
      assert.deepEqual(await s().users.get(user.id), user);
      assert.equal(await s().users.get(newId()), undefined);
    });

    it('getByEmail compares lower-cased', async () => {
      const user = await seedUser(s());
      assert.deepEqual(await s().users.getByEmail(user.email.toUpperCase()), user);
      assert.equal(await s().users.getByEmail(`nobody-${newId()}@example.com`), undefined);
    });

    it('a second user with the same email in any case fails with email_taken', async () => {
      const user = await seedUser(s());
      await rejectsWithCode(s().users.create(userFx({ email: user.email })), 'email_taken');
      await rejectsWithCode(
        s().users.create(userFx({ email: user.email.toUpperCase() })),
        'email_taken',
      );
    });

    it('update changes only the given fields', async () => {
      const user = await seedUser(s());
      await s().users.update(user.id, {
        failedLogins: 3,
        lockedUntil: T0 + 60_000,
        updatedAt: T0 + 1,
      });
      assert.deepEqual(await s().users.get(user.id), {
        ...user,
        failedLogins: 3,
        lockedUntil: T0 + 60_000,
        updatedAt: T0 + 1,
      });
      await s().users.update(user.id, {
        totpSecretSealed: 'sealed-secret',
        totpEnabled: true,
        lockedUntil: null,
        name: 'Renamed',
        passwordHash: 'new-hash',
      });
      assert.deepEqual(await s().users.get(user.id), {
        ...user,
        failedLogins: 3,
        lockedUntil: null,
        updatedAt: T0 + 1,
        totpSecretSealed: 'sealed-secret',
        totpEnabled: true,
        name: 'Renamed',
        passwordHash: 'new-hash',
      });
      await s().users.update(user.id, {});
      assert.equal((await s().users.get(user.id))?.name, 'Renamed');
    });

    it('update to an email another user has fails with email_taken', async () => {
      const a = await seedUser(s());
      const b = await seedUser(s());
      await rejectsWithCode(
        s().users.update(b.id, { email: a.email.toUpperCase() }),
        'email_taken',
      );
      assert.equal((await s().users.get(b.id))?.email, b.email);
    });

    it('update of an unknown id changes nothing', async () => {
      const count = await s().users.count();
      await s().users.update(newId(), { name: 'ghost' });
      assert.equal(await s().users.count(), count);
    });

    it('count counts users', async () => {
      const before = await s().users.count();
      await seedUser(s());
      assert.equal(await s().users.count(), before + 1);
    });
  });
}

/** MembershipStore: put (upsert), get, listByUser, listByOrg, remove; scoped by organization. */
export function membershipSuite(open: OpenStorage): void {
  describe('MembershipStore', () => {
    const s = useStorage(open);

    it('put then get; put again replaces role and grants', async () => {
      const org = await seedOrg(s());
      const user = await seedUser(s());
      const m = membershipFx(org.id, user.id, { role: 'operator', grants: ['a', 'b'] });
      await s().memberships.put(m);
      assert.deepEqual(await s().memberships.get(org.id, user.id), m);
      const replaced = { ...m, role: 'admin' as const, grants: ['c'] };
      await s().memberships.put(replaced);
      assert.deepEqual(await s().memberships.get(org.id, user.id), replaced);
      assert.equal((await s().memberships.listByOrg(org.id)).length, 1);
    });

    it('keeps scoped grants with the membership, replaced whole by put (decision 0046)', async () => {
      const org = await seedOrg(s());
      const user = await seedUser(s());
      const grant = {
        id: newId(),
        permissions: ['devices:manage', 'port:ssh'],
        locationId: newId(),
        tag: null,
        grantedBy: newId(),
        createdAt: 1_700_000_000_123,
      };
      const m = membershipFx(org.id, user.id, {
        scopedGrants: [grant, { ...grant, id: newId(), locationId: null, tag: 'pumps' }],
      });
      await s().memberships.put(m);
      assert.deepEqual(await s().memberships.get(org.id, user.id), m);
      assert.deepEqual((await s().memberships.listByOrg(org.id))[0], m);
      const fewer = { ...m, scopedGrants: [grant] };
      await s().memberships.put(fewer);
      assert.deepEqual(await s().memberships.get(org.id, user.id), fewer);
    });

    it('listByUser and listByOrg return the right memberships', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const u1 = await seedUser(s());
      const u2 = await seedUser(s());
      const m1a = membershipFx(a.id, u1.id, { role: 'owner' });
      const m1b = membershipFx(b.id, u1.id);
      const m2a = membershipFx(a.id, u2.id);
      for (const m of [m1a, m1b, m2a]) await s().memberships.put(m);
      const byUser = await s().memberships.listByUser(u1.id);
      assert.deepEqual(byUser.map((m) => m.orgId).sort(), [a.id, b.id].sort());
      const byOrg = await s().memberships.listByOrg(a.id);
      assert.deepEqual(byOrg.map((m) => m.userId).sort(), [u1.id, u2.id].sort());
      assert.deepEqual(
        byOrg.find((m) => m.userId === u1.id),
        m1a,
      );
    });

    it('a membership in org A is invisible and irremovable through org B', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const user = await seedUser(s());
      await s().memberships.put(membershipFx(a.id, user.id));
      assert.equal(await s().memberships.get(b.id, user.id), undefined);
      assert.deepEqual(await s().memberships.listByOrg(b.id), []);
      assert.equal(await s().memberships.remove(b.id, user.id), false);
      assert.ok(await s().memberships.get(a.id, user.id));
    });

    it('remove returns true once, then false', async () => {
      const org = await seedOrg(s());
      const user = await seedUser(s());
      await s().memberships.put(membershipFx(org.id, user.id));
      assert.equal(await s().memberships.remove(org.id, user.id), true);
      assert.equal(await s().memberships.get(org.id, user.id), undefined);
      assert.equal(await s().memberships.remove(org.id, user.id), false);
    });
  });
}

/**
 * SessionStore: create, getByTokenHash, rotate (reuse detection), revoke, revokeAllForUser,
 * liveSuccessor.
 */
export function sessionSuite(open: OpenStorage): void {
  describe('SessionStore', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      const user = await seedUser(s());
      return { org, user };
    };

    it('create then getByTokenHash; an unknown hash is undefined', async () => {
      const { org, user } = await seed();
      const session = sessionFx(org.id, user.id);
      await s().sessions.create(session);
      assert.deepEqual(await s().sessions.getByTokenHash(session.tokenHash), session);
      assert.equal(await s().sessions.getByTokenHash('f'.repeat(64)), undefined);
    });

    it('rotate revokes the old session, links it to the new one and stores the new one', async () => {
      const { org, user } = await seed();
      const old = sessionFx(org.id, user.id);
      await s().sessions.create(old);
      const next = sessionFx(org.id, user.id, { createdAt: T0 + 10 });
      assert.equal(await s().sessions.rotate(old.id, next, T0 + 10), true);
      assert.deepEqual(await s().sessions.getByTokenHash(old.tokenHash), {
        ...old,
        revokedAt: T0 + 10,
        replacedBy: next.id,
      });
      assert.deepEqual(await s().sessions.getByTokenHash(next.tokenHash), next);
    });

    it('rotating the same old session again returns false and stores nothing (reuse)', async () => {
      const { org, user } = await seed();
      const old = sessionFx(org.id, user.id);
      await s().sessions.create(old);
      const first = sessionFx(org.id, user.id);
      const second = sessionFx(org.id, user.id);
      assert.equal(await s().sessions.rotate(old.id, first, T0 + 1), true);
      assert.equal(await s().sessions.rotate(old.id, second, T0 + 2), false);
      assert.equal(await s().sessions.getByTokenHash(second.tokenHash), undefined);
      const stored = await s().sessions.getByTokenHash(old.tokenHash);
      assert.equal(stored?.replacedBy, first.id);
      assert.equal(stored?.revokedAt, T0 + 1);
    });

    it('concurrent rotations of one session: exactly one wins', async () => {
      const { org, user } = await seed();
      const old = sessionFx(org.id, user.id);
      await s().sessions.create(old);
      const nexts = Array.from({ length: 8 }, () => sessionFx(org.id, user.id));
      const results = await Promise.all(nexts.map((n) => s().sessions.rotate(old.id, n, T0 + 1)));
      assert.equal(results.filter(Boolean).length, 1);
      const stored = await Promise.all(nexts.map((n) => s().sessions.getByTokenHash(n.tokenHash)));
      assert.equal(stored.filter((x) => x !== undefined).length, 1);
    });

    it('rotate of a revoked or unknown session returns false', async () => {
      const { org, user } = await seed();
      const old = sessionFx(org.id, user.id);
      await s().sessions.create(old);
      await s().sessions.revoke(old.id, T0 + 5);
      const next = sessionFx(org.id, user.id);
      assert.equal(await s().sessions.rotate(old.id, next, T0 + 6), false);
      assert.equal(await s().sessions.rotate(newId(), next, T0 + 6), false);
      assert.equal(await s().sessions.getByTokenHash(next.tokenHash), undefined);
    });

    it('revoke sets revokedAt once (a second revoke keeps the first time)', async () => {
      const { org, user } = await seed();
      const session = sessionFx(org.id, user.id);
      await s().sessions.create(session);
      await s().sessions.revoke(session.id, T0 + 5);
      await s().sessions.revoke(session.id, T0 + 9);
      assert.equal((await s().sessions.getByTokenHash(session.tokenHash))?.revokedAt, T0 + 5);
    });

    it('revokeAllForUser revokes only that user’s live sessions and counts them', async () => {
      const { org, user } = await seed();
      const other = await seedUser(s());
      const live1 = sessionFx(org.id, user.id);
      const live2 = sessionFx(org.id, user.id);
      const revoked = sessionFx(org.id, user.id, { revokedAt: T0 + 1 });
      const expired = sessionFx(org.id, user.id, { expiresAt: T0 + 50 });
      const others = sessionFx(org.id, other.id);
      for (const x of [live1, live2, revoked, expired, others]) await s().sessions.create(x);
      assert.equal(await s().sessions.revokeAllForUser(user.id, T0 + 100), 2);
      assert.equal((await s().sessions.getByTokenHash(live1.tokenHash))?.revokedAt, T0 + 100);
      assert.equal((await s().sessions.getByTokenHash(live2.tokenHash))?.revokedAt, T0 + 100);
      assert.equal((await s().sessions.getByTokenHash(revoked.tokenHash))?.revokedAt, T0 + 1);
      assert.equal((await s().sessions.getByTokenHash(others.tokenHash))?.revokedAt, null);
      assert.equal(await s().sessions.revokeAllForUser(user.id, T0 + 200), 0);
    });

    it('revokeAllForUser with exceptId keeps that one session live', async () => {
      const { org, user } = await seed();
      const keep = sessionFx(org.id, user.id);
      const drop = sessionFx(org.id, user.id);
      for (const x of [keep, drop]) await s().sessions.create(x);
      assert.equal(await s().sessions.revokeAllForUser(user.id, T0 + 100, keep.id), 1);
      assert.equal((await s().sessions.getByTokenHash(keep.tokenHash))?.revokedAt, null);
      assert.equal((await s().sessions.getByTokenHash(drop.tokenHash))?.revokedAt, T0 + 100);
    });

    it('liveSuccessor: the session itself while live, its rotation while that lives, else none', async () => {
      const { org, user } = await seed();
      const first = sessionFx(org.id, user.id);
      await s().sessions.create(first);
      assert.deepEqual(await s().sessions.liveSuccessor(first.id, T0 + 1), first);
      const second = sessionFx(org.id, user.id, { createdAt: T0 + 10 });
      const third = sessionFx(org.id, user.id, { createdAt: T0 + 20 });
      await s().sessions.rotate(first.id, second, T0 + 10);
      await s().sessions.rotate(second.id, third, T0 + 20);
      // a token minted from `first` follows the chain to the live `third`
      assert.deepEqual(await s().sessions.liveSuccessor(first.id, T0 + 30), third);
      assert.deepEqual(await s().sessions.liveSuccessor(second.id, T0 + 30), third);
      // expired at the end of the chain: nothing is live
      assert.equal(await s().sessions.liveSuccessor(first.id, third.expiresAt), undefined);
      // revoked at the end of the chain (logout, reuse detection): nothing is live
      await s().sessions.revoke(third.id, T0 + 40);
      assert.equal(await s().sessions.liveSuccessor(first.id, T0 + 50), undefined);
      assert.equal(await s().sessions.liveSuccessor(newId(), T0 + 50), undefined);
    });
  });
}

/** ApiKeyStore: create, get (unscoped), list (newest first, scoped), revoke (scoped), touch. */
export function apiKeySuite(open: OpenStorage): void {
  describe('ApiKeyStore', () => {
    const s = useStorage(open);

    it('create then get returns the same record; an unknown id is undefined', async () => {
      const org = await seedOrg(s());
      const user = await seedUser(s());
      const key = apiKeyFx(org.id, { createdBy: user.id, expiresAt: T0 + 1000 });
      await s().apiKeys.create(key);
      assert.deepEqual(await s().apiKeys.get(key.id), key);
      assert.equal(await s().apiKeys.get(newId()), undefined);
    });

    it('list returns the organization’s keys newest first, and nothing of another', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const k1 = apiKeyFx(a.id);
      const k2 = apiKeyFx(a.id, { permissions: [] });
      const k3 = apiKeyFx(a.id);
      const kb = apiKeyFx(b.id);
      for (const k of [k1, k2, k3, kb]) await s().apiKeys.create(k);
      assert.deepEqual(await s().apiKeys.list(a.id), [k3, k2, k1]);
      assert.deepEqual(await s().apiKeys.list(b.id), [kb]);
    });

    it('revoke returns true once, then false; through another org it is false and changes nothing', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const key = apiKeyFx(a.id);
      await s().apiKeys.create(key);
      assert.equal(await s().apiKeys.revoke(b.id, key.id, T0 + 1), false);
      assert.equal((await s().apiKeys.get(key.id))?.revokedAt, null);
      assert.equal(await s().apiKeys.revoke(a.id, key.id, T0 + 2), true);
      assert.equal((await s().apiKeys.get(key.id))?.revokedAt, T0 + 2);
      assert.equal(await s().apiKeys.revoke(a.id, key.id, T0 + 3), false);
      assert.equal((await s().apiKeys.get(key.id))?.revokedAt, T0 + 2);
      assert.equal(await s().apiKeys.revoke(a.id, newId(), T0 + 3), false);
    });

    it('touch records the last use', async () => {
      const org = await seedOrg(s());
      const key = apiKeyFx(org.id);
      await s().apiKeys.create(key);
      await s().apiKeys.touch(key.id, T0 + 42);
      assert.deepEqual(await s().apiKeys.get(key.id), { ...key, lastUsedAt: T0 + 42 });
    });
  });
}
