/**
 * Issue 11: login throttling per source and per source + account before any account-wide lock,
 * identical answers for locked and unknown accounts, bearer credentials throttled per source, and
 * every HTTP authentication failure counted (decision 0013). Every test request comes from
 * 127.0.0.1; "another source" is the auth service called with another address, as the HTTP app
 * would for a request from there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTotpSecret, totp } from '@bulwark/core';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

const WRONG = 'not the password at all';
const login = (t: TestHub, email: string, password: string) =>
  raw(t, 'POST', '/auth/login', { email, password });

describe('login throttling per source and per source + account', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await setupOwner(t);
  });
  after(() => t.close());

  it("a stranger's failures throttle the stranger's address, not the owner elsewhere", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await login(t, 'owner@example.com', WRONG);
      assert.equal(r.status, 401);
      assert.equal(r.json['code'], 'invalid_credentials');
    }
    const throttled = await login(t, 'owner@example.com', PASSWORD);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.json['code'], 'rate_limited');
    assert.equal(throttled.headers.get('retry-after'), '30');
    assert.doesNotMatch(throttled.text, /owner|account|locked/i);
    // the owner, from their own address, is not locked out
    const fromOwner = await t.hub.services.auth.login(
      { email: 'owner@example.com', password: PASSWORD },
      '192.0.2.10',
    );
    assert.ok(fromOwner.accessToken);
    // the throttle backs off: after 30 s one more failure doubles the wait
    t.clock.advance(31_000);
    assert.equal((await login(t, 'owner@example.com', WRONG)).status, 401);
    const again = await login(t, 'owner@example.com', PASSWORD);
    assert.equal(again.headers.get('retry-after'), '60');
    t.clock.advance(61_000);
    assert.equal((await login(t, 'owner@example.com', PASSWORD)).status, 200);
  });

  it('answers a throttled unknown email exactly like a throttled known one', async () => {
    t.clock.advance(16 * 60_000);
    const answers = [];
    for (const email of ['owner@example.com', 'nobody@example.com']) {
      for (let i = 0; i < 5; i++) await login(t, email, WRONG);
      const r = await login(t, email, WRONG);
      answers.push({ status: r.status, retryAfter: r.headers.get('retry-after'), body: r.json });
    }
    assert.equal(answers[0]!.status, 429);
    assert.deepEqual(answers[0], answers[1]);
  });
});

describe('login throttling of one source across accounts', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await setupOwner(t);
  });
  after(() => t.close());

  it('twenty failures from one address, over any accounts, throttle it; a success does not reset that', async () => {
    for (let i = 0; i < 19; i++)
      assert.equal((await login(t, `guess${i}@example.com`, WRONG)).status, 401);
    // logging in to an account the attacker holds does not wipe the address's count
    assert.equal((await login(t, 'owner@example.com', PASSWORD)).status, 200);
    assert.equal((await login(t, 'guess19@example.com', WRONG)).status, 401);
    const r = await login(t, 'fresh@example.com', WRONG);
    assert.equal(r.status, 429);
    assert.equal(r.json['code'], 'rate_limited');
    assert.equal(r.headers.get('retry-after'), '60');
    // another address is not affected
    await t.hub.services.auth.login(
      { email: 'owner@example.com', password: PASSWORD },
      '198.51.100.7',
    );
  });
});

describe('the account-wide lock: a backstop that reveals nothing', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    await s.owner.users.create({
      email: 'victim@example.com',
      name: 'V',
      password: PASSWORD,
      role: 'viewer',
    });
  });
  after(() => t.close());

  it('five failures from elsewhere do not lock the account', async () => {
    for (let i = 0; i < 5; i++) {
      await rejectsWith(
        t.hub.services.auth.login({ email: 'victim@example.com', password: WRONG }, '203.0.113.9'),
        'invalid_credentials',
      );
    }
    assert.equal((await login(t, 'victim@example.com', PASSWORD)).status, 200);
  });

  it('only a spread-out attack (50 failures from many sources) locks it, and the lock answers like an unknown account', async () => {
    for (let i = 0; i < 50; i++) {
      await rejectsWith(
        t.hub.services.auth.login(
          { email: 'victim@example.com', password: WRONG },
          `198.51.100.${i}`,
        ),
        'invalid_credentials',
      );
    }
    const locked = await login(t, 'victim@example.com', PASSWORD);
    const unknown = await login(t, 'nobody@example.com', PASSWORD);
    assert.equal(locked.status, 401);
    assert.deepEqual(locked.json, unknown.json);
    assert.equal(locked.headers.get('retry-after'), null);
    assert.equal(locked.headers.get('www-authenticate'), unknown.headers.get('www-authenticate'));
    // the lock ends after its time (1 min for the first)
    t.clock.advance(61_000);
    assert.equal((await login(t, 'victim@example.com', PASSWORD)).status, 200);
  });

  it('a locked, an unknown and a wrong-password login take the same time (one scrypt each)', async () => {
    const user = await t.hub.storage.users.getByEmail('victim@example.com');
    await t.hub.storage.users.update(user!.id, {
      lockedUntil: t.clock.now() + 3_600_000,
      failedLogins: 60,
    });
    const timed = async (email: string, password: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        await t.hub.services.auth
          .login({ email, password }, `198.18.0.${ms.length + email.length}`)
          .catch(() => undefined);
        ms.push(performance.now() - start);
      }
      return ms.sort((a, b) => a - b)[1]!;
    };
    const locked = await timed('victim@example.com', PASSWORD);
    const unknown = await timed('nobody@example.com', PASSWORD);
    const wrong = await timed('owner@example.com', WRONG);
    // A real scrypt (N=2^15) takes tens of ms; an answer without one would take well under 5 ms.
    for (const [name, ms] of Object.entries({ locked, unknown })) {
      assert.ok(
        ms > wrong / 3,
        `${name} took ${ms.toFixed(1)} ms, wrong password ${wrong.toFixed(1)} ms`,
      );
    }
  });
});

describe('bearer credentials throttled per source', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('after 100 bad tokens or keys from one address, even a good key waits', async () => {
    for (let i = 0; i < 100; i++) {
      const r = await raw(
        t,
        'GET',
        '/devices',
        undefined,
        `bwk_${'0'.repeat(32)}_${'x'.repeat(40)}`,
      );
      assert.equal(r.status, 401, `request ${i}`);
    }
    const r = await raw(t, 'GET', '/devices', undefined, s.apiKey);
    assert.equal(r.status, 429);
    assert.equal(r.json['code'], 'rate_limited');
    assert.equal(r.headers.get('retry-after'), '10');
    // another address is not affected
    await t.hub.services.auth.authenticate(s.apiKey, '192.0.2.44');
    t.clock.advance(10_001);
    assert.equal((await raw(t, 'GET', '/devices', undefined, s.apiKey)).status, 200);
  });
});

describe('every HTTP authentication failure is counted', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('bulwark_auth_failures_total{protocol="http",reason} counts passwords, TOTP, tokens, keys and setup tokens', async () => {
    const { key: metricsKey } = await s.owner.apiKeys.create({
      name: 'prometheus',
      permissions: ['metrics:read'],
    });
    // TOTP for a second user
    await s.owner.users.create({
      email: 'totp@example.com',
      name: 'T',
      password: PASSWORD,
      role: 'viewer',
    });
    const tokens = await t.client().auth.login({ email: 'totp@example.com', password: PASSWORD });
    const user = t.client(tokens.accessToken);
    const { secret } = await user.auth.beginTotp();
    await user.auth.confirmTotp(totp(decodeTotpSecret(secret), t.clock.now()));

    await login(t, 'owner@example.com', WRONG);
    await login(t, 'nobody@example.com', WRONG);
    await raw(t, 'POST', '/auth/login', {
      email: 'totp@example.com',
      password: PASSWORD,
      totp: '000000' === totp(decodeTotpSecret(secret), t.clock.now()) ? '111111' : '000000',
    });
    await raw(t, 'POST', '/auth/refresh', { refreshToken: 'bwr_not-a-token' });
    await raw(t, 'GET', '/me', undefined, 'not-a-token');
    await raw(t, 'GET', '/me', undefined, `bwk_${'0'.repeat(32)}_${'x'.repeat(40)}`);
    await raw(t, 'POST', '/setup', {
      token: 'bws_wrong',
      organization: 'X',
      email: 'x@example.com',
      name: 'X',
      password: PASSWORD,
    });
    const res = await t.fetchWith()(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${metricsKey}` },
    });
    const text = await res.text();
    const count = (reason: string) =>
      Number(
        new RegExp(
          `^bulwark_auth_failures_total\\{protocol="http",reason="${reason}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1] ?? 0,
      );
    assert.equal(count('password'), 2, text);
    assert.equal(count('totp'), 1);
    assert.equal(count('refresh_token'), 1);
    assert.equal(count('access_token'), 1);
    assert.equal(count('api_key'), 1);
    assert.equal(count('setup_token'), 1);
  });
});
