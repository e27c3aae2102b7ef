/**
 * The console's operations views in a real browser (issue 15 items 5–7, 9, 10; decision 0038,
 * amendment of 2026-12-07): Debian's Chromium driven by playwright-core against a real hub on
 * loopback. The owner signs in, builds a location tree (create, rename, move), sees a signed image
 * (uploaded through the API: the page's upload is in the walk, console-walk.test.ts), previews a
 * two-phase rollout and starts it to simulated devices (their jobs driven through the hub's job
 * service as the devices would report) and watches the canary and every phase reach done, reads an alert's evidence, comments and acknowledges it, sees the audit chain verified and
 * sends a webhook test. A user who may manage users but holds no audit:read is offered neither the
 * admin role nor that grant (and the API refuses them); a viewer is offered no action at all and
 * is signed out when idle. axe-core (WCAG 2 A/AA) runs on every view: any violation fails.
 *
 * Screenshots go to a temporary directory, or to $BULWARK_SCREENSHOTS (e.g. docs/screenshots).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import type { BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { drive } from './rollout-helpers.js';
import { signingKeys } from './signing-fixture.js';
import {
  consoleMissing,
  launchConsoleBrowser,
  signIn as signInAt,
  type ConsoleBrowser,
} from './console-helpers.js';

describe('console operations views in Chromium', { skip: consoleMissing }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let owner: BulwarkClient;
  let b: ConsoleBrowser;
  let context: BrowserContext;
  let page: Page;

  const watch = (p: Page) => b.watch(p);
  const violations = async (p: Page) => b.cspViolations(p);
  const shot = async (name: string) => b.shot(page, name);
  /** axe-core, WCAG 2.0/2.1 A and AA, on the page as it is; fails naming each violation. */
  const axe = async (p: Page, where: string) => b.axe(p, where, { wcag: true });
  const launchContext = async () => b.newContext({ width: 1200, height: 800 });
  const signIn = async (p: Page, email: string) => signInAt(p, t.url, email);

  before(async () => {
    // The rollout timer is slow: the test steps rollouts itself, between device reports.
    t = await startTestHub(['--rollout-tick-ms', '60000']);
    s = await setupOwner(t);
    owner = s.owner;
    b = await launchConsoleBrowser();
    context = await launchContext();
    page = await b.newPage({ context });
  });
  after(async () => {
    await b?.close();
    await t?.close();
  });

  it('signs the owner in and builds a location tree: create, rename', async () => {
    await signIn(page, 'owner@example.com');
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL('**/admin');
    await page.getByRole('tab', { name: 'Locations' }).click();
    await page.getByText('No locations yet.').waitFor();
    await axe(page, 'admin: empty locations');
    await page.getByLabel('Location name').fill('Plant 1');
    await page.getByRole('button', { name: 'Add location' }).click();
    const tree = page.getByRole('list', { name: 'Locations' });
    await tree.getByText('Plant 1').waitFor();
    await page.getByLabel('Location name').fill('Hall A');
    await page.getByLabel('Kind').selectOption('building');
    await page.getByLabel('Inside').selectOption({ label: 'site: Plant 1' });
    await page.getByRole('button', { name: 'Add location' }).click();
    await tree.getByText('Hall A').waitFor();
    await page.getByRole('button', { name: 'Edit Hall A' }).click();
    await page.getByLabel('New name of Hall A').fill('Hall B');
    await page.getByRole('button', { name: 'Rename' }).click();
    await tree.getByText('Hall B').waitFor();
    let locs = await owner.locations.list();
    const site = locs.find((l) => l.name === 'Plant 1');
    assert.equal(locs.find((l) => l.name === 'Hall B')?.parentId, site?.id, 'inside the site');
    // Move: a second site, and the building moved under it.
    await page.getByLabel('Location name').fill('Plant 2');
    await page.getByLabel('Kind').selectOption('site');
    await page.getByLabel('Inside').selectOption('');
    await page.getByRole('button', { name: 'Add location' }).click();
    await tree.getByText('Plant 2').waitFor();
    const site2 = (await owner.locations.list()).find((l) => l.name === 'Plant 2');
    await page.getByRole('button', { name: 'Edit Hall B' }).click();
    // A location is never offered as a parent of itself.
    const parents = await page.getByLabel('Move Hall B under').locator('option').allTextContents();
    assert.ok(!parents.includes('building: Hall B'));
    await page.getByLabel('Move Hall B under').selectOption({ label: 'site: Plant 2' });
    await tree.locator(`li[data-location-id="${site2?.id}"] .loc`, { hasText: 'Hall B' }).waitFor();
    locs = await owner.locations.list();
    assert.equal(locs.find((l) => l.name === 'Hall B')?.parentId, site2?.id, 'moved');
    await axe(page, 'admin: locations');
    await shot('admin');
  });

  let artifactId = '';
  it('has a signed image (uploaded through the API: the page’s upload is in the walk)', async () => {
    const keys = signingKeys();
    await owner.firmware.pushRoot(keys.root);
    const image = randomBytes(64 * 1024);
    const meta = keys.release(image, {
      name: 'gw-2.0.0.img',
      types: ['gateway'],
      version: '2.0.0',
      releaseCounter: 2,
    });
    artifactId = (await owner.firmware.create(meta)).id;
    await owner.firmware.uploadImage(artifactId, image);
    await page.getByRole('link', { name: 'Firmware' }).click();
    await page.waitForURL('**/firmware');
    await page.locator(`tr[data-artifact-id="${artifactId}"]`).getByText('not in use').waitFor();
    await axe(page, 'firmware: an artifact');
  });

  it('previews a rollout, starts it, and watches the progress bars reach done', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (
          await owner.devices.create({
            name: `gw-${i}`,
            type: 'gateway',
            firmwareVersion: '1.0.0',
          })
        ).id,
      );
    await owner.devices.create({ name: 'cam-1', type: 'camera', firmwareVersion: '1.0.0' });
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await page.waitForURL('**/rollouts');
    await page.getByText('No rollouts yet.').waitFor();
    await page.getByRole('button', { name: 'New rollout' }).click();
    await page.getByLabel('Artifact').selectOption(artifactId);
    await page.getByLabel('Name (optional)').fill('Gateways to 2.0.0');
    await page.getByLabel('Device type').fill('gateway');
    await page.getByRole('button', { name: 'Add a phase before' }).click();
    await page.getByLabel('At most in flight').fill('2');
    await page.getByRole('button', { name: 'Preview devices' }).click();
    const preview = page.getByRole('region', { name: 'Preview' });
    await preview.getByRole('table', { name: 'Matching devices' }).waitFor();
    assert.equal(
      await preview.locator('tbody tr').count(),
      3,
      'the three gateways, not the camera',
    );
    await preview.getByText('canary: 1 → phase 2: 3').waitFor();
    await axe(page, 'rollouts: form with preview');
    assert.equal((await owner.rollouts.list()).items.length, 0, 'a preview stores nothing');
    await page.getByRole('button', { name: 'Start rollout' }).click();
    const detail = page.getByRole('region', { name: 'Rollout' });
    await detail.getByRole('heading', { name: 'Gateways to 2.0.0' }).waitFor();
    const [r] = (await owner.rollouts.list()).items;
    assert.ok(r);

    // The devices: each job reported through to success, one rollout step at a time.
    for (let step = 0; step < 10; step++) {
      await t.hub.rolloutRunner.tick();
      const jobs = await t.hub.storage.updateJobs.list(s.orgId, { rolloutId: r.id, limit: 100 });
      const open = jobs.filter((j) => j.state === 'queued');
      for (const j of open)
        await drive(t, j, ['delivered', 'installing', 'rebooting', 'succeeded'], {
          version: '2.0.0',
        });
      if (step === 0) {
        // The canary is done, the second phase not started: the page shows it by itself.
        await detail.getByRole('progressbar', { name: 'Phase 1 (canary)' }).waitFor();
        await detail
          .locator('[role=progressbar][aria-label="Phase 1 (canary)"][aria-valuenow="1"]')
          .waitFor();
      }
      if ((await owner.rollouts.get(r.id)).state === 'completed') break;
    }
    assert.equal((await owner.rollouts.get(r.id)).state, 'completed');
    // The detail re-reads the rollout when the event stream says it or one of its jobs moved:
    // no click and no polling.
    await detail.locator('[data-state="completed"]').waitFor();
    const overall = detail.getByRole('progressbar', { name: 'Overall' });
    assert.equal(await overall.getAttribute('aria-valuenow'), '3');
    assert.equal(await overall.getAttribute('aria-valuemax'), '3');
    const phase2 = detail.getByRole('progressbar', { name: 'Phase 2' });
    assert.match(
      (await phase2.getAttribute('aria-valuetext')) ?? '',
      /^done: 2 succeeded, 0 failed, 0 in flight of 2$/,
    );
    assert.equal(
      await detail.getByRole('button', { name: /Pause|Resume|Cancel rollout/ }).count(),
      0,
    );
    await detail.getByText('Finished: nothing more will change').waitFor();
    await axe(page, 'rollouts: detail');
  });

  it('pauses, resumes and cancels a rollout from its detail', async () => {
    const d = await owner.devices.create({
      name: 'gw-9',
      type: 'gateway',
      firmwareVersion: '1.0.0',
    });
    const r = await owner.rollouts.create({
      artifactId,
      target: { deviceIds: [d.id] },
      name: 'One more',
    });
    await page.getByRole('button', { name: '← All rollouts' }).click();
    await page.getByRole('button', { name: 'Open One more' }).click();
    const detail = page.getByRole('region', { name: 'Rollout' });
    await detail.getByRole('button', { name: 'Pause' }).click();
    await detail.locator('[data-state="paused"]').waitFor();
    assert.equal((await owner.rollouts.get(r.id)).state, 'paused');
    await detail.getByRole('button', { name: 'Resume' }).click();
    await detail.locator('[data-state="running"]').waitFor();
    page.once('dialog', (dlg) => void dlg.accept());
    await detail.getByRole('button', { name: 'Cancel rollout' }).click();
    await detail.locator('[data-state="canceled"]').waitFor();
    assert.equal((await owner.rollouts.get(r.id)).state, 'canceled');
  });

  it('shows an alert’s evidence, takes a comment and acknowledges it', async () => {
    const [dev] = (await owner.devices.list({ q: 'gw-0' })).items;
    const alert = await t.hub.services.alerts.open(s.orgId, dev!.id, 'device_offline', {
      silentForSeconds: 900,
    });
    assert.ok(alert);
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL('**/alerts');
    const row = page.locator(`tr[data-alert-id="${alert.id}"]`);
    await row.getByRole('button', { name: 'Details' }).click();
    const details = page.getByRole('region', { name: 'Alert details' });
    await details.getByLabel('Evidence').getByText('silentForSeconds').waitFor();
    await details.getByLabel('Add a comment').fill('Power cut in Hall B, on it');
    await details.getByRole('button', { name: 'Comment' }).click();
    await details.getByText('Power cut in Hall B, on it').waitFor();
    await axe(page, 'alerts: details');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.locator('.state', { hasText: 'acknowledged' }).waitFor();
    const seen = await owner.alerts.get(alert.id);
    assert.equal(seen.state, 'acknowledged');
    assert.deepEqual(
      seen.comments.map((c) => c.body),
      ['Power cut in Hall B, on it'],
    );
  });

  it('shows the audit chain verified, findings, detection rules, and sends a webhook test', async () => {
    await page.getByRole('link', { name: 'Security' }).click();
    await page.waitForURL('**/security');
    await page.getByRole('tab', { name: 'Detection rules' }).click();
    await page.getByRole('table', { name: 'Detection rules' }).waitFor();
    await axe(page, 'security: detection rules');
    await page.getByRole('tab', { name: 'Notifications' }).click();
    await page.getByText('No notification endpoint').waitFor();
    await page.getByLabel('Webhook name').fill('ops-hook');
    await page.getByLabel('HTTPS URL').fill('https://hooks.example.com/bulwark');
    await page.getByLabel('Signing secret').fill('a signing secret of some length');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('button', { name: 'Send test to ops-hook' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'A test message to “ops-hook” is queued' })
      .waitFor();
    await axe(page, 'security: notifications');
    const audit = await owner.audit.list({ action: 'testNotificationEndpoint' });
    assert.equal(audit.items[0]?.result, 'success', 'the test is audited');
    await page.getByRole('tab', { name: 'Audit log' }).click();
    await page.locator('[data-chain="ok"]').waitFor();
    await page
      .getByRole('table', { name: 'Audit log' })
      .getByText('testNotificationEndpoint')
      .first()
      .waitFor();
    await axe(page, 'security: audit log');
    await shot('security');
    await page.getByRole('tab', { name: 'Findings' }).click();
    await page.getByRole('button', { name: 'Run checks now' }).click();
    await page.getByRole('table', { name: 'Findings' }).or(page.getByText('No findings')).waitFor();
    await axe(page, 'security: findings');
  });

  it('creates an API key whose secret is shown once', async () => {
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('tab', { name: 'API keys' }).click();
    await page.getByLabel('Key name').fill('ci-reader');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('New API key secret').inputValue();
    assert.match(secret, /^bwk_/);
    // The key works, with exactly the permission chosen.
    assert.equal((await t.client(secret).devices.list()).items.length > 0, true);
    await rejectsWith(t.client(secret).audit.list(), 'forbidden');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    assert.equal(await page.getByLabel('New API key secret').count(), 0, 'gone once dismissed');
    await axe(page, 'admin: API keys');
  });

  it('never offers a user manager more than they hold, and the API refuses it', async () => {
    await owner.users.create({
      email: 'ops@example.com',
      name: 'Otto Ops',
      password: PASSWORD,
      role: 'operator',
      grants: ['users:manage'],
    });
    // Its own browser profile: a tab beside the owner's would restore the owner's session cookie.
    const ops = await (await launchContext()).newPage();
    watch(ops);
    await signIn(ops, 'ops@example.com');
    await ops.getByRole('link', { name: 'Admin' }).click();
    const form = ops.getByRole('form', { name: 'Add user' });
    await form.waitFor();
    const roles = await form.getByLabel('Role').locator('option').allTextContents();
    assert.deepEqual(roles, ['operator', 'viewer'], 'no admin, no owner');
    await form.getByLabel('Role').selectOption('viewer');
    const offered = await form
      .locator('input[name=permission]')
      .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    assert.ok(offered.includes('users:manage'));
    assert.ok(!offered.includes('audit:read'), 'a permission the operator lacks is not offered');
    assert.equal(await ops.getByRole('tab', { name: 'API keys' }).count(), 0);
    // The owner's role cannot be changed from here.
    assert.equal(await ops.getByRole('combobox', { name: 'Role of owner@example.com' }).count(), 0);
    await axe(ops, 'admin: a user manager');
    const tokens = await t.client().auth.login({ email: 'ops@example.com', password: PASSWORD });
    const api = t.client(tokens.accessToken);
    await rejectsWith(
      api.users.create({
        email: 'sneaky@example.com',
        name: 'Sneaky',
        password: PASSWORD,
        role: 'viewer',
        grants: ['audit:read'],
      }),
      'forbidden',
    );
    await rejectsWith(
      api.users.create({
        email: 'boss@example.com',
        name: 'Boss',
        password: PASSWORD,
        role: 'admin',
      }),
      'forbidden',
    );
    assert.deepEqual(await violations(ops), []);
    await ops.close();
  });

  it('offers a viewer no action anywhere, and signs them out when idle', async () => {
    await owner.users.create({
      email: 'viewer@example.com',
      name: 'Vic Viewer',
      password: PASSWORD,
      role: 'viewer',
    });
    const vctx = await launchContext();
    await vctx.clock.install();
    const v = await vctx.newPage();
    watch(v);
    await signIn(v, 'viewer@example.com');
    await v.getByRole('link', { name: 'Firmware' }).click();
    await v.getByRole('table', { name: 'Artifacts' }).waitFor();
    assert.equal(await v.getByRole('form', { name: 'Upload firmware' }).count(), 0);
    assert.equal(await v.getByRole('button', { name: 'Set policy' }).count(), 0);
    await v.getByRole('link', { name: 'Rollouts' }).click();
    await v.getByRole('table', { name: 'Rollouts' }).waitFor();
    assert.equal(await v.getByRole('button', { name: 'New rollout' }).count(), 0);
    await v.getByRole('button', { name: 'Open One more' }).click();
    await v.getByRole('region', { name: 'Rollout' }).locator('[data-state]').waitFor();
    assert.equal(await v.getByRole('button', { name: /Pause|Resume|Cancel rollout/ }).count(), 0);
    await v.getByRole('link', { name: 'Admin' }).click();
    await v.getByRole('tab', { name: 'Organizations' }).waitFor();
    assert.deepEqual(await v.getByRole('tab').allTextContents(), ['Organizations', 'Locations']);
    await v.getByRole('tab', { name: 'Locations' }).click();
    await v.getByRole('list', { name: 'Locations' }).getByText('Hall B').waitFor();
    assert.equal(await v.getByRole('button', { name: /Edit|Add location/ }).count(), 0);
    await axe(v, 'admin: a viewer');
    await v.getByRole('link', { name: 'Security' }).click();
    await v.getByText('Your role cannot read findings').waitFor();
    // The API refuses what the page does not offer.
    const vt = await t.client().auth.login({ email: 'viewer@example.com', password: PASSWORD });
    await rejectsWith(
      t.client(vt.accessToken).locations.create({ name: 'X', kind: 'site' }),
      'forbidden',
    );
    // Idle: 5 minutes chosen, 6 pass without input — signed out, back at the sign-in page.
    await v.getByLabel('Sign out when idle').selectOption('5');
    await v.clock.fastForward('06:00');
    await v.waitForURL('**/login');
    assert.deepEqual(await violations(v), []);
    await vctx.close();
  });

  it('ran without a CSP violation or a console error', async () => {
    assert.deepEqual(await violations(page), []);
    assert.deepEqual(b.problems, []);
  });
});
