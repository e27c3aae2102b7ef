/**
 * The console's refresh cookie (decision 0038, amendment of 2026-12-07): with
 * `X-Bulwark-Session: cookie` the refresh token is an HttpOnly `__Host-` cookie and never in the
 * body; refreshing or logging out with the cookie needs that header and the hub's own Origin;
 * rotation and reuse detection are those of the body's token; API clients are unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_IDENTITY_CONFIG } from '@bulwark/core';
import { PASSWORD, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';

const COOKIE = '__Host-bulwark_refresh';
const MODE = { 'x-bulwark-session': 'cookie' };

/** The refresh cookie a response set: its value and its attributes, as sent. */
function setCookie(headers: Headers): { value: string; attrs: string[] } | undefined {
  const all = headers.getSetCookie().filter((c) => c.startsWith(`${COOKIE}=`));
  assert.ok(all.length <= 1, `one refresh cookie at most: ${all.join(' | ')}`);
  if (all.length === 0) return undefined;
  const [pair, ...attrs] = all[0]!.split(';').map((s) => s.trim());
  return { value: pair!.slice(COOKIE.length + 1), attrs };
}

describe('the browser session cookie', () => {
  let t: TestHub;
  const ttl = DEFAULT_IDENTITY_CONFIG.refreshTokenTtlSeconds;
  before(async () => {
    t = await startTestHub();
    await setupOwner(t);
  });
  after(() => t.close());

  const creds = { email: 'owner@example.com', password: PASSWORD };
  const login = (headers: Record<string, string> = MODE) =>
    raw(t, 'POST', '/auth/login', creds, undefined, headers);
  const byCookie = (value: string, headers: Record<string, string> = MODE) =>
    raw(t, 'POST', '/auth/refresh', {}, undefined, { cookie: `${COOKIE}=${value}`, ...headers });
  const me = (token: unknown) => raw(t, 'GET', '/me', undefined, token as string);

  it('login in cookie mode sets the cookie with its exact attributes, and no token in the body', async () => {
    const r = await login();
    assert.equal(r.status, 200);
    assert.equal(r.json['refreshToken'], undefined, 'the body carries no refresh token');
    assert.equal(typeof r.json['accessToken'], 'string');
    const c = setCookie(r.headers);
    assert.ok(c, 'a refresh cookie is set');
    assert.match(c.value, /^bwr_[A-Za-z0-9_-]+$/);
    assert.deepEqual(c.attrs, [
      `Max-Age=${ttl}`,
      'Path=/',
      'Secure',
      'HttpOnly',
      'SameSite=Strict',
    ]);
    assert.ok(!c.attrs.some((a) => a.toLowerCase().startsWith('domain')), '__Host-: no Domain');
    assert.equal((await me(r.json['accessToken'])).status, 200);
  });

  it('API clients without the header are unchanged: the token in the body, no cookie', async () => {
    const r = await login({});
    assert.equal(r.status, 200);
    assert.equal(typeof r.json['refreshToken'], 'string');
    assert.equal(setCookie(r.headers), undefined);
    const next = await t.client().auth.refresh(r.json['refreshToken'] as string);
    assert.equal(typeof next.refreshToken, 'string');
    await t.client().auth.logout(next.refreshToken);
  });

  it('refreshes by cookie with the header: a new cookie, no token in the body', async () => {
    const first = setCookie((await login()).headers)!;
    const r = await byCookie(first.value, { ...MODE, origin: t.url });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json['refreshToken'], undefined);
    assert.equal((await me(r.json['accessToken'])).status, 200);
    const next = setCookie(r.headers);
    assert.ok(next);
    assert.notEqual(next.value, first.value, 'the cookie rotates');
    assert.equal(next.attrs[0], `Max-Age=${ttl}`);
  });

  it('refuses a refresh by cookie without the header (403 session_header_required)', async () => {
    const c = setCookie((await login()).headers)!;
    const r = await byCookie(c.value, {});
    assert.equal(r.status, 403);
    assert.equal(r.json['code'], 'session_header_required');
    // the cookie was not used up: with the header it still works
    assert.equal((await byCookie(c.value)).status, 200);
  });

  it("refuses a refresh by cookie from another site's Origin (403 origin_mismatch)", async () => {
    const c = setCookie((await login()).headers)!;
    for (const origin of ['https://evil.example', 'null', t.url.replace('https:', 'http:')]) {
      const r = await byCookie(c.value, { ...MODE, origin });
      assert.equal(r.status, 403, origin);
      assert.equal(r.json['code'], 'origin_mismatch', origin);
    }
    const login2 = await login({ ...MODE, origin: 'https://evil.example' });
    assert.equal(login2.status, 403, 'a cross-site cookie login is refused too');
    assert.equal(setCookie(login2.headers), undefined);
    assert.equal((await byCookie(c.value)).status, 200, 'the refused attempts changed nothing');
  });

  it('without a cookie: 401 refresh_token_missing, and the session probe says no cookie', async () => {
    const r = await raw(t, 'POST', '/auth/refresh', {}, undefined, MODE);
    assert.equal(r.status, 401);
    assert.equal(r.json['code'], 'refresh_token_missing');
    assert.deepEqual(await t.client().auth.sessionCookie(), { cookie: false });
    const probe = await raw(t, 'GET', '/auth/session', undefined, undefined, {
      cookie: `${COOKIE}=x`,
    });
    assert.deepEqual(probe.json, { cookie: true });
  });

  it('a rotated cookie presented again is refused, revokes the family and is cleared', async () => {
    const first = setCookie((await login()).headers)!;
    const second = await byCookie(first.value);
    assert.equal(second.status, 200);
    const reused = await byCookie(first.value);
    assert.equal(reused.status, 401);
    assert.equal(reused.json['code'], 'refresh_token_invalid');
    const cleared = setCookie(reused.headers);
    assert.deepEqual(cleared, {
      value: '',
      attrs: ['Max-Age=0', 'Path=/', 'Secure', 'HttpOnly', 'SameSite=Strict'],
    });
    // reuse detection as for body tokens: the session it rotated into is dead too
    assert.equal((await me(second.json['accessToken'])).status, 401);
    assert.equal((await byCookie(setCookie(second.headers)!.value)).status, 401);
  });

  it('logout by cookie revokes the session and clears the cookie; it needs the header', async () => {
    const r = await login();
    const c = setCookie(r.headers)!;
    const cookie = { cookie: `${COOKIE}=${c.value}` };
    const noHeader = await raw(t, 'POST', '/auth/logout', {}, undefined, cookie);
    assert.equal(noHeader.status, 403);
    assert.equal(noHeader.json['code'], 'session_header_required');
    assert.equal((await me(r.json['accessToken'])).status, 200, 'not logged out by that');
    const out = await raw(t, 'POST', '/auth/logout', {}, undefined, { ...cookie, ...MODE });
    assert.equal(out.status, 204);
    assert.equal(setCookie(out.headers)?.attrs[0], 'Max-Age=0');
    assert.equal(setCookie(out.headers)?.value, '');
    assert.equal((await me(r.json['accessToken'])).status, 401);
    assert.equal((await byCookie(c.value)).status, 401);
    // idempotent without a cookie: nothing to revoke, still cleared
    const again = await raw(t, 'POST', '/auth/logout', {}, undefined, MODE);
    assert.equal(again.status, 204);
    assert.equal(setCookie(again.headers)?.attrs[0], 'Max-Age=0');
  });

  it('a cookie longer than any token is refused without a lookup', async () => {
    const r = await byCookie('bwr_' + 'a'.repeat(600));
    assert.equal(r.status, 401);
    assert.equal(r.json['code'], 'refresh_token_invalid');
  });
});
