/**
 * Issue 11: a user changes their own password (the current one required; their other sessions
 * end), an admin resets a member's (only one they may manage; all the member's sessions end), and
 * a local operator resets any on the data dir (`bulwark admin reset-password`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runLocalCommand } from '@bulwark/hub';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

const NEW_PASSWORD = 'another long and unguessable passphrase';

describe('changing your own password', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await setupOwner(t);
  });
  after(() => t.close());

  const login = (password = PASSWORD) =>
    t.client().auth.login({ email: 'owner@example.com', password });
  const me = (token: string) => raw(t, 'GET', '/me', undefined, token);

  it('needs the current password and changes nothing without it', async () => {
    const tokens = await login();
    const r = await raw(
      t,
      'POST',
      '/me/password',
      { currentPassword: 'not the password', newPassword: NEW_PASSWORD },
      tokens.accessToken,
    );
    assert.equal(r.status, 403);
    assert.equal(r.json['code'], 'password_incorrect');
    await rejectsWith(
      t.client(tokens.accessToken).auth.changePassword(PASSWORD, 'short'),
      'validation_failed',
    );
    await rejectsWith(
      t.client(tokens.accessToken).auth.changePassword(PASSWORD, 'aaaaaaaaaaaaaaaa'),
      'weak_password',
    );
    await login(); // the old password still works
  });

  it('ends every other session but keeps the caller’s own', async () => {
    const mine = await login();
    const other = await login();
    const r = await t.client(mine.accessToken).auth.changePassword(PASSWORD, NEW_PASSWORD);
    assert.ok(r.revokedSessions >= 1);
    assert.equal((await me(mine.accessToken)).status, 200);
    assert.equal((await me(other.accessToken)).status, 401);
    await rejectsWith(t.client().auth.refresh(other.refreshToken), 'refresh_token_invalid');
    await t.client().auth.refresh(mine.refreshToken);
    await rejectsWith(login(PASSWORD), 'invalid_credentials');
    await login(NEW_PASSWORD);
  });

  it('wrong current passwords count against the login throttle', async () => {
    const tokens = await login(NEW_PASSWORD);
    const client = t.client(tokens.accessToken);
    for (let i = 0; i < 5; i++)
      await rejectsWith(
        client.auth.changePassword('guess guess guess', PASSWORD),
        'password_incorrect',
      );
    await rejectsWith(client.auth.changePassword(NEW_PASSWORD, PASSWORD), 'rate_limited');
  });

  it('is for users: an API key has no password', async () => {
    t.clock.advance(31_000); // past the throttle the test before ran into
    const tokens = await login(NEW_PASSWORD);
    const { key } = await t
      .client(tokens.accessToken)
      .apiKeys.create({ name: 'k', permissions: ['devices:read'] });
    const r = await raw(
      t,
      'POST',
      '/me/password',
      { currentPassword: NEW_PASSWORD, newPassword: PASSWORD },
      key,
    );
    assert.equal(r.status, 403);
  });
});

describe("an admin resets a member's password", () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let adminToken: string;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    await s.owner.users.create({
      email: 'admin@example.com',
      name: 'A',
      password: PASSWORD,
      role: 'admin',
    });
    adminToken = (await t.client().auth.login({ email: 'admin@example.com', password: PASSWORD }))
      .accessToken;
  });
  after(() => t.close());

  it('resets a member it may manage and ends all of the member’s sessions', async () => {
    const op = await s.owner.users.create({
      email: 'op@example.com',
      name: 'O',
      password: PASSWORD,
      role: 'operator',
    });
    const opTokens = await t.client().auth.login({ email: 'op@example.com', password: PASSWORD });
    const r = await t.client(adminToken).users.resetPassword(op.id, NEW_PASSWORD);
    assert.equal(r.revokedSessions, 1);
    assert.equal((await raw(t, 'GET', '/me', undefined, opTokens.accessToken)).status, 401);
    await rejectsWith(
      t.client().auth.login({ email: 'op@example.com', password: PASSWORD }),
      'invalid_credentials',
    );
    await t.client().auth.login({ email: 'op@example.com', password: NEW_PASSWORD });
  });

  it('refuses the owner, a member holding more, itself, and a member of another organization', async () => {
    const admin = t.client(adminToken);
    await rejectsWith(admin.users.resetPassword(s.userId, NEW_PASSWORD), 'forbidden');
    const big = await s.owner.users.create({
      email: 'big@example.com',
      name: 'B',
      password: PASSWORD,
      role: 'admin',
      grants: ['org:manage'],
    });
    await rejectsWith(admin.users.resetPassword(big.id, NEW_PASSWORD), 'forbidden');
    const me = await admin.me();
    await rejectsWith(admin.users.resetPassword(me.id, NEW_PASSWORD), 'forbidden');
    // the owner is also owner of a second organization: its password opens that one too
    await s.owner.orgs.create({ name: 'Elsewhere' });
    const v = await s.owner.users.create({
      email: 'v@example.com',
      name: 'V',
      password: PASSWORD,
      role: 'viewer',
    });
    await t.hub.storage.memberships.put({
      orgId: (await s.owner.orgs.list()).find((o) => o.name === 'Elsewhere')!.id,
      userId: v.id,
      role: 'viewer',
      grants: [],
      createdAt: t.clock.now(),
    });
    const e = await rejectsWith(admin.users.resetPassword(v.id, NEW_PASSWORD), 'forbidden');
    assert.match(e.message, /other organizations/);
    // nothing changed for any of them
    for (const email of ['owner@example.com', 'big@example.com', 'v@example.com'])
      await t.client().auth.login({ email, password: PASSWORD });
  });
});

describe('bulwark admin reset-password (local, on the data dir)', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await setupOwner(t);
  });
  after(() => t.close());

  it('sets a new password from BULWARK_PASSWORD (never a flag), unlocks and ends every session', async () => {
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const user = await t.hub.storage.users.getByEmail('owner@example.com');
    await t.hub.storage.users.update(user!.id, {
      lockedUntil: t.clock.now() + 3_600_000,
      failedLogins: 70,
    });
    assert.equal(
      await runLocalCommand([
        'admin',
        'reset-password',
        '--data-dir',
        t.dir,
        '--email',
        'owner@example.com',
        '--password',
        NEW_PASSWORD,
      ]),
      2,
      'a password flag is a usage error',
    );
    process.env['BULWARK_PASSWORD'] = NEW_PASSWORD;
    try {
      assert.equal(
        await runLocalCommand([
          'admin',
          'reset-password',
          '--data-dir',
          t.dir,
          '--email',
          'nobody@example.com',
        ]),
        1,
      );
      assert.equal(
        await runLocalCommand([
          'admin',
          'reset-password',
          '--data-dir',
          t.dir,
          '--email',
          'owner@example.com',
        ]),
        0,
      );
    } finally {
      delete process.env['BULWARK_PASSWORD'];
    }
    assert.equal((await raw(t, 'GET', '/me', undefined, tokens.accessToken)).status, 401);
    await t.client().auth.login({ email: 'owner@example.com', password: NEW_PASSWORD });
    const audit = await t.hub.services.audit.list(
      (await t.hub.storage.memberships.listByUser(user!.id))[0]!.orgId,
      { action: 'admin.resetPassword' },
      { limit: 10, cursor: null },
    );
    assert.equal(audit.items.length, 1);
  });
});
