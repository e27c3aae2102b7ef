/**
 * The web console in a real browser (decision 0038): Debian's Chromium, driven by playwright-core,
 * against a real hub serving the built console on loopback. First-run setup → sign out → sign in
 * → a device created through the API shows in the fleet list → an alert raised by the hub's alert
 * service is acknowledged in the browser; a viewer signs in with a TOTP code and sees no actions
 * (the API refuses them).
 * No CSP violation and no console error on any page; the initial JS size (gzipped) and the first
 * contentful paint are reported as diagnostics.
 *
 * Screenshots go to a temporary directory, or to $BULWARK_SCREENSHOTS (e.g. docs/screenshots).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { decodeTotpSecret, totp } from '@bulwark/core';
import { PASSWORD, startTestHub, type TestHub } from './helpers.js';
import {
  CONSOLE_DIST as DIST,
  consoleMissing,
  launchConsoleBrowser,
  type ConsoleBrowser,
} from './console-helpers.js';

/** The initial JS of the built console: the scripts index.html loads, gzipped. */
function initialJsGzipBytes(): number {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const srcs = [
    ...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/([^"]+)"/g),
  ];
  assert.ok(srcs.length > 0, 'index.html loads a script');
  return srcs.reduce((n, m) => n + gzipSync(readFileSync(join(DIST, m[1]!))).length, 0);
}

describe('console in Chromium', { skip: consoleMissing }, () => {
  let t: TestHub;
  let b: ConsoleBrowser;
  let context: BrowserContext;
  let page: Page;
  const shot = async (name: string) => b.shot(page, name, false);

  before(async () => {
    t = await startTestHub();
    b = await launchConsoleBrowser();
    context = await b.newContext({ width: 1100, height: 560 });
    page = await b.newPage({ context });
  });
  after(async () => {
    await b?.close();
    await t?.close();
  });

  it('is small: the initial JS is at most 250 KB gzipped', (ctx) => {
    const bytes = initialJsGzipBytes();
    ctx.diagnostic(`initial JS: ${(bytes / 1024).toFixed(1)} KiB gzipped`);
    assert.ok(bytes <= 250 * 1024, `${bytes} bytes`);
  });

  it('first run: the setup token creates the owner, who lands on the fleet', async (ctx) => {
    await page.goto(`${t.url}/`);
    await page.waitForURL('**/setup');
    await page.getByRole('heading', { name: 'Set up Bulwark' }).waitFor();
    const fcp = await page.evaluate<number>(
      "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1",
    );
    ctx.diagnostic(`first contentful paint of /: ${fcp.toFixed(0)} ms`);
    assert.ok(fcp > 0, 'the page painted');
    await page.getByLabel('Organization').fill('Acme');
    await page.getByLabel('Your name').fill('Olivia Owner');
    await page.getByLabel('Email').fill('owner@example.com');
    await shot('setup');
    await page.getByLabel('Setup token').fill(t.hub.setupToken!);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create owner and sign in' }).click();
    await page.waitForURL('**/fleet');
    await page.getByText('No devices yet.').waitFor();
    assert.equal((await t.client().setup.status()).required, false);
  });

  it('signs out, and signs in with the password; no token is ever stored by the page', async (ctx) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/login');
    await page.getByLabel('Email').fill('owner@example.com');
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    // The refused login is the one failed request the browser reports.
    assert.deepEqual(b.problems.splice(0), [
      'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)',
    ]);
    await page.getByLabel('Password').fill(PASSWORD);
    await shot('login');
    const started = Date.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/fleet');
    await page.getByText('No devices yet.').waitFor();
    ctx.diagnostic(`sign-in to the rendered fleet page: ${Date.now() - started} ms`);
    const stored = await page.evaluate<{ local: number; session: number; cookie: string }>(
      '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })',
    );
    assert.deepEqual(stored, { local: 0, session: 0, cookie: '' });
  });

  let deviceId = '';
  it('lists a device created through the API, filters by name, shows its online state', async () => {
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const api = t.client(tokens.accessToken);
    deviceId = (await api.devices.create({ name: 'press-1', type: 'press', tags: ['line-a'] })).id;
    await api.devices.create({ name: 'oven-7', type: 'oven' });
    // The fleet list loads again when the filter changes.
    await page.getByLabel('Filter by name').fill('press');
    const row = page.locator(`tr[data-device-id="${deviceId}"]`);
    await row.waitFor();
    await row.getByText('offline').waitFor();
    assert.equal(await page.locator('tbody tr').count(), 1, 'the filter leaves press-1 only');
    await page.getByLabel('Filter by name').fill('');
    await page.locator('tbody tr').nth(1).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 2);
    await shot('fleet');
  });

  it('shows an alert raised by the hub and acknowledges it', async () => {
    const orgId = (await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD }))
      .organizationId;
    const alert = await t.hub.services.alerts.open(orgId, deviceId, 'device_offline', {
      silentForSeconds: 900,
    });
    assert.ok(alert);
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL('**/alerts');
    const row = page.locator(`tr[data-alert-id="${alert.id}"]`);
    await row.locator('.state', { hasText: 'open' }).waitFor();
    await shot('alerts');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.locator('.state', { hasText: 'acknowledged' }).waitFor();
    assert.equal(await row.getByRole('button', { name: 'Acknowledge' }).count(), 0);
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const seen = await t.client(tokens.accessToken).alerts.get(alert.id);
    assert.equal(seen.state, 'acknowledged');
  });

  it('signs a viewer in with password and TOTP, and hides the actions the API refuses them', async () => {
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    await t.client(tokens.accessToken).users.create({
      email: 'viewer@example.com',
      name: 'Vic Viewer',
      password: PASSWORD,
      role: 'viewer',
    });
    const vt = await t.client().auth.login({ email: 'viewer@example.com', password: PASSWORD });
    const v = t.client(vt.accessToken);
    const [a] = (await v.alerts.list({ state: 'active' })).items;
    await assert.rejects(v.alerts.resolve(a!.id), { code: 'forbidden' });
    const key = decodeTotpSecret((await v.auth.beginTotp()).secret);
    await v.auth.confirmTotp(totp(key, t.clock.now()));
    t.clock.advance(30_000); // a fresh code: the one just used is not accepted twice

    // Another browser profile: a tab of the owner's would restore the owner's session (its cookie).
    const viewer = await b.newPage();
    await viewer.goto(`${t.url}/login`);
    await viewer.getByLabel('Email').fill('viewer@example.com');
    await viewer.getByLabel('Password').fill(PASSWORD);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.getByLabel('TOTP code').fill(totp(key, t.clock.now()));
    assert.deepEqual(b.problems.splice(0), [
      'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)',
    ]);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.waitForURL('**/fleet');
    await viewer.getByRole('link', { name: 'Alerts' }).click();
    await viewer.locator('tr[data-alert-id]').first().waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Acknowledge|Resolve/ }).count(), 0);
    assert.equal(await viewer.getByRole('columnheader', { name: 'Actions' }).count(), 0);
    assert.deepEqual(await b.cspViolations(viewer), []);
    await viewer.close();
  });

  it('ran without a CSP violation or a console error', async () => {
    assert.deepEqual(await b.cspViolations(page), []);
    assert.deepEqual(b.problems, []);
  });
});
