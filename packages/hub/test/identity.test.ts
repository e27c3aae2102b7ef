import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTotpSecret, totp } from '@bulwark/core';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('first start and setup', () => {
  let t: TestHub;
  before(async () => (t = await startTestHub()));
  after(() => t.close());

  it('creates no user and issues a one-time setup token', async () => {
    assert.deepEqual(await t.client().setup.status(), { required: true });
    assert.match(t.hub.setupToken ?? '', /^bws_/);
  });
  it('refuses a wrong setup token and changes nothing', async () => {
    const r = await raw(t, 'POST', '/setup', {
      token: 'bws_wrong',
      organization: 'A',
      email: 'a@example.com',
      name: 'A',
      password: PASSWORD,
    });
    assert.equal(r.status, 401);
    assert.equal(r.json['code'], 'setup_token_invalid');
    assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(await t.client().setup.status(), { required: true });
  });
  it('refuses a weak password and keeps the token usable', async () => {
    const r = await raw(t, 'POST', '/setup', {
      token: t.hub.setupToken,
      organization: 'A',
      email: 'a@example.com',
      name: 'A',
      password: 'aaaaaaaaaaaa',
    });
    assert.equal(r.json['code'], 'weak_password');
  });
  it('refuses unknown fields by name', async () => {
    const r = await raw(t, 'POST', '/setup', {
      token: t.hub.setupToken,
      organization: 'A',
      email: 'a@example.com',
      name: 'A',
      password: PASSWORD,
      admin: true,
    });
    assert.equal(r.status, 400);
    assert.equal(r.json['code'], 'unknown_field');
    assert.match(String(r.json['detail']), /admin/);
  });
  it('creates the owner once; the token cannot be reused', async () => {
    const { orgId } = await setupOwner(t);
    assert.ok(orgId);
    const r = await raw(t, 'POST', '/setup', {
      token: t.hub.setupToken,
      organization: 'B',
      email: 'b@example.com',
      name: 'B',
      password: PASSWORD,
    });
    assert.equal(r.json['code'], 'setup_token_used');
    assert.deepEqual(await t.client().setup.status(), { required: false });
  });
  it('refuses an expired setup token', async () => {
    const t2 = await startTestHub();
    try {
      t2.clock.advance(25 * 3600 * 1000);
      const r = await raw(t2, 'POST', '/setup', {
        token: t2.hub.setupToken,
        organization: 'A',
        email: 'a@example.com',
        name: 'A',
        password: PASSWORD,
      });
      assert.equal(r.json['code'], 'setup_token_expired');
    } finally {
      await t2.close();
    }
  });
});

describe('logins, sessions and TOTP', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await setupOwner(t);
  });
  after(() => t.close());

  it('refuses a wrong password and an unknown email the same way', async () => {
    await rejectsWith(
      t.client().auth.login({ email: 'owner@example.com', password: 'wrong password here' }),
      'invalid_credentials',
    );
    await rejectsWith(
      t.client().auth.login({ email: 'nobody@example.com', password: 'wrong password here' }),
      'invalid_credentials',
    );
  });
  it('rotates refresh tokens; reusing a rotated one revokes every session', async () => {
    const first = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const second = await t.client().auth.refresh(first.refreshToken);
    assert.notEqual(second.refreshToken, first.refreshToken);
    await rejectsWith(t.client().auth.refresh(first.refreshToken), 'refresh_token_invalid');
    // the reuse revoked the rotated-to session too
    await rejectsWith(t.client().auth.refresh(second.refreshToken), 'refresh_token_invalid');
  });
  it('expires access tokens', async () => {
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const me = await t.client(tokens.accessToken).me();
    assert.equal(me.kind, 'user');
    assert.equal(me.role, 'owner');
    assert.equal(me.email, 'owner@example.com');
    const r = await raw(t, 'GET', '/me', undefined, 'not-a-token');
    assert.equal(r.json['code'], 'access_token_invalid');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  });
  it('enrolls TOTP and then requires a fresh code at login, accepting each code once', async () => {
    const owner = t.client(
      (await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD })).accessToken,
    );
    const { secret, otpauthUrl } = await owner.call('beginTotp', { body: {} });
    assert.match(otpauthUrl, /^otpauth:\/\/totp\//);
    const key = decodeTotpSecret(secret);
    await rejectsWith(
      owner.call('confirmTotp', {
        body: { code: '000000' === totp(key, t.clock.now()) ? '111111' : '000000' },
      }),
      'totp_invalid',
    );
    await owner.call('confirmTotp', { body: { code: totp(key, t.clock.now()) } });
    await rejectsWith(
      t.client().auth.login({ email: 'owner@example.com', password: PASSWORD }),
      'totp_required',
    );
    t.clock.advance(30_000);
    const code = totp(key, t.clock.now());
    await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD, totp: code });
    await rejectsWith(
      t.client().auth.login({ email: 'owner@example.com', password: PASSWORD, totp: code }),
      'totp_invalid',
    );
    t.clock.advance(30_000);
    await owner.call('disableTotp', { body: { code: totp(key, t.clock.now()) } });
  });
});

describe('roles, API keys and tenants', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('a viewer reads devices but cannot change them', async () => {
    await s.owner.users.create({
      email: 'viewer@example.com',
      name: 'V',
      password: PASSWORD,
      role: 'viewer',
    });
    const viewer = t.client(
      (await t.client().auth.login({ email: 'viewer@example.com', password: PASSWORD }))
        .accessToken,
    );
    await viewer.devices.list({});
    const e = await rejectsWith(viewer.devices.create({ name: 'd1', type: 'esp32' }), 'forbidden');
    assert.match(e.message, /devices:manage/);
  });
  it('an admin cannot make an owner; the last owner cannot be demoted', async () => {
    await s.owner.users.create({
      email: 'admin@example.com',
      name: 'A',
      password: PASSWORD,
      role: 'admin',
    });
    const admin = t.client(
      (await t.client().auth.login({ email: 'admin@example.com', password: PASSWORD })).accessToken,
    );
    await rejectsWith(
      admin.users.create({ email: 'x@example.com', name: 'X', password: PASSWORD, role: 'owner' }),
      'forbidden',
    );
    await rejectsWith(s.owner.users.update(s.userId, { role: 'admin' }), 'last_owner');
  });
  it('removing a member cuts their access at once', async () => {
    const u = await s.owner.users.create({
      email: 'temp@example.com',
      name: 'T',
      password: PASSWORD,
      role: 'operator',
    });
    const temp = t.client(
      (await t.client().auth.login({ email: 'temp@example.com', password: PASSWORD })).accessToken,
    );
    await temp.devices.list({});
    await s.owner.users.remove(u.id);
    await rejectsWith(temp.devices.list({}), 'access_token_invalid');
  });
  it('an API key is shown once, scoped, and revocable at once', async () => {
    const { apiKey, key } = await s.api.apiKeys.create({
      name: 'reader',
      permissions: ['devices:read'],
    });
    assert.match(key, /^bwk_/);
    // The secret is everything after `bwk_<id>_` (it may itself contain '_').
    const secret = /^bwk_[0-9a-f]{32}_(.+)$/.exec(key)![1]!;
    assert.ok(!JSON.stringify(await s.api.apiKeys.list()).includes(secret));
    const reader = t.client(key);
    await reader.devices.list({});
    await rejectsWith(reader.devices.create({ name: 'nope', type: 't' }), 'forbidden');
    await rejectsWith(
      reader.apiKeys.create({ name: 'x', permissions: ['devices:read'] }),
      'forbidden',
    );
    await s.api.apiKeys.revoke(apiKey.id);
    await rejectsWith(reader.devices.list({}), 'api_key_revoked');
  });
  it('a key cannot be wider than its creator', async () => {
    const { key } = await s.api.apiKeys.create({ name: 'keys', permissions: ['api-keys:manage'] });
    await rejectsWith(
      t.client(key).apiKeys.create({ name: 'wider', permissions: ['devices:manage'] }),
      'forbidden',
    );
  });
  it('no call crosses organizations: another tenant’s ids read as not found', async () => {
    const org2 = await s.owner.orgs.create({ name: 'Other' });
    const tokens2 = await t
      .client()
      .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id });
    const other = t.client(tokens2.accessToken);
    const theirs = await other.devices.create({ name: 'their-device', type: 'rpi' });
    const site = await other.locations.create({ name: 'Their site', kind: 'site' });
    await rejectsWith(s.api.devices.get(theirs.id), 'not_found');
    await rejectsWith(s.api.devices.update(theirs.id, { name: 'stolen' }), 'not_found');
    await rejectsWith(s.api.devices.createEnrollmentToken(theirs.id, {}), 'not_found');
    await rejectsWith(s.api.devices.certificates(theirs.id), 'not_found');
    await rejectsWith(s.api.locations.get(site.id), 'not_found');
    await rejectsWith(
      s.api.devices.create({ name: 'mine', type: 't', locationId: site.id }),
      'not_found',
    );
    assert.ok(!(await s.api.devices.list({})).items.some((d) => d.id === theirs.id));
    // and the same name may exist in both tenants
    await s.api.devices.create({ name: 'their-device', type: 'rpi' });
    assert.equal((await other.devices.get(theirs.id)).name, 'their-device');
  });
});
