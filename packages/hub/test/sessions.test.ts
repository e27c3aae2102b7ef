/**
 * Issue 11: an access token lives only as long as its session — logout and the detected reuse of
 * a rotated refresh token refuse it at once, not 15 minutes later.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('access tokens die with their session', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await setupOwner(t);
  });
  after(() => t.close());

  const login = () => t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
  const me = (token: string) => raw(t, 'GET', '/me', undefined, token);

  it('logout refuses the access token at once', async () => {
    const tokens = await login();
    assert.equal((await me(tokens.accessToken)).status, 200);
    await t.client().auth.logout(tokens.refreshToken);
    const r = await me(tokens.accessToken);
    assert.equal(r.status, 401);
    assert.equal(r.json['code'], 'access_token_invalid');
  });

  it('a refresh keeps the earlier access token good until it expires (the session lives on)', async () => {
    const first = await login();
    const second = await t.client().auth.refresh(first.refreshToken);
    assert.equal((await me(first.accessToken)).status, 200);
    assert.equal((await me(second.accessToken)).status, 200);
    // logging out the rotated-to refresh token ends the session, and both access tokens with it
    await t.client().auth.logout(second.refreshToken);
    assert.equal((await me(first.accessToken)).status, 401);
    assert.equal((await me(second.accessToken)).status, 401);
  });

  it('reuse of a rotated refresh token refuses every access token of the user', async () => {
    const a = await login();
    const b = await login();
    const a2 = await t.client().auth.refresh(a.refreshToken);
    for (const tok of [a.accessToken, a2.accessToken, b.accessToken])
      assert.equal((await me(tok)).status, 200);
    // a thief replays the rotated token: every session of the user ends
    await rejectsWith(t.client().auth.refresh(a.refreshToken), 'refresh_token_invalid');
    for (const tok of [a.accessToken, a2.accessToken, b.accessToken]) {
      const r = await me(tok);
      assert.equal(r.status, 401);
      assert.equal(r.json['code'], 'access_token_invalid');
    }
    // logging in again works
    assert.equal((await me((await login()).accessToken)).status, 200);
  });
});
