/**
 * The console's session across reloads, in Chromium (decision 0038, amendment of 2026-12-07):
 * sign in → reload → still signed in on the same page, the refresh token only in an HttpOnly,
 * Secure, SameSite=Strict `__Host-` cookie that `document.cookie` does not show → sign out →
 * the cookie is gone and a reload shows the sign-in page, with no failed request on the way.
 * And TOTP turned off in the account page: only with a current code, never a replayed one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { decodeTotpSecret, totp } from '@bulwark/core';
import type { BulwarkClient } from '@bulwark/sdk';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import {
  consoleMissing,
  launchConsoleBrowser,
  signIn,
  type ConsoleBrowser,
} from './console-helpers.js';

const COOKIE = '__Host-bulwark_refresh';

describe('console session in Chromium', { skip: consoleMissing }, () => {
  let t: TestHub;
  let b: ConsoleBrowser;
  let context: BrowserContext;
  let page: Page;
  let owner: BulwarkClient;

  before(async () => {
    t = await startTestHub();
    ({ owner } = await setupOwner(t));
    b = await launchConsoleBrowser();
    context = await b.newContext();
    page = await b.newPage({ context });
  });
  after(async () => {
    await b?.close();
    await t?.close();
  });

  const refreshCookies = async () =>
    (await context.cookies(t.url)).filter((c) => c.name === COOKIE);

  it('stays signed in across a reload; script never sees the refresh token', async (ctx) => {
    await signIn(page, t.url, 'owner@example.com');
    const [c] = await refreshCookies();
    assert.ok(c, 'the hub set the refresh cookie');
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/');
    assert.match(c.value, /^bwr_/);

    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL('**/alerts');
    const started = Date.now();
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    ctx.diagnostic(`reload to the restored session: ${Date.now() - started} ms`);
    assert.match(page.url(), /\/alerts$/, 'the reload stays on the page it was on');

    const seen = await page.evaluate<{ cookie: string; local: number; session: number }>(
      '({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length })',
    );
    assert.deepEqual(seen, { cookie: '', local: 0, session: 0 });
    const [rotated] = await refreshCookies();
    assert.ok(rotated);
    assert.notEqual(rotated.value, c.value, 'the restore rotated the refresh token');
  });

  it('turns TOTP off in the account page with a current code, not a replayed or wrong one', async () => {
    const key = decodeTotpSecret((await owner.auth.beginTotp()).secret);
    const used = totp(key, t.clock.now());
    await owner.auth.confirmTotp(used);
    await page.getByRole('link', { name: 'Your account' }).click();
    await page.locator('[data-totp="on"]').waitFor();
    const form = page.getByRole('form', { name: 'Turn off TOTP' });
    // A session alone (someone at an unlocked screen) cannot: the code that enrolled is spent.
    await form.getByLabel('Current TOTP code').fill(used);
    await form.getByRole('button', { name: 'Turn off TOTP' }).click();
    await form.getByRole('alert').getByText('The TOTP code is wrong').waitFor();
    await form.getByText('changes every 30 seconds').waitFor();
    await b.axe(page, 'account: TOTP on, a wrong code');
    assert.equal((await owner.me()).totpEnabled, true);
    t.clock.advance(30_000);
    await form.getByLabel('Current TOTP code').fill(totp(key, t.clock.now()));
    await form.getByRole('button', { name: 'Turn off TOTP' }).click();
    await page.getByRole('status').getByText('TOTP is off').waitFor();
    await page.getByRole('button', { name: 'Set up TOTP' }).waitFor();
    assert.equal((await owner.me()).totpEnabled, false);
    assert.deepEqual(b.problems.splice(0), [
      'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)',
    ]);
  });

  it('signs out: the cookie is cleared and a reload shows the sign-in page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/login');
    assert.deepEqual(await refreshCookies(), []);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.match(page.url(), /\/login$/);
    assert.equal(await page.getByRole('alert').count(), 0, 'no error on the sign-in page');
  });

  it('ran without a CSP violation or a console error (no failed request either)', async () => {
    assert.deepEqual(await b.cspViolations(page), []);
    assert.deepEqual(b.problems, []);
  });
});
