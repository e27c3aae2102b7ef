/**
 * The console's device page, live from the event stream, in a real browser (decision 0038 and its
 * amendment of 2026-12-07): Debian's Chromium driven by playwright-core against a real hub. A
 * device connected over MQTT (MQTT.js with its device key, answering like an agent: it reports the
 * desired twin back) goes online on its page without a reload; a malformed or refused twin patch
 * is shown readably and changes nothing, a change made elsewhere shows live with the device's
 * report; device keys are made and revoked; the telemetry page charts the hub's bucket aggregation
 * of the device's SenML; the owner gives a viewer `devices:manage` on one building (a scoped grant,
 * decision 0046) in the Admin page — another organization's location is not offered, a refused tag
 * shows readably — the viewer is offered the twin editor on a device there only, a user manager
 * without device permissions is offered no form, and the owner takes the grant back in the page. axe-core checks the device and telemetry pages (violations fail). The in-page twin
 * change, the command and the fleet's online state are in the walk (console-walk.test.ts), with a
 * real agent.
 *
 * Screenshots go to a temporary directory, or to $BULWARK_SCREENSHOTS (e.g. docs/screenshots).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { channelTopic, deviceTopic } from '@bulwark/protocol';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';
import {
  consoleMissing,
  launchConsoleBrowser,
  signIn,
  type ConsoleBrowser,
} from './console-helpers.js';

describe('console device page in Chromium', { skip: consoleMissing }, () => {
  let t: TestHub;
  let owner: Awaited<ReturnType<typeof setupOwner>>;
  let b: ConsoleBrowser;
  let page: Page;
  let device: MqttClient | undefined;
  let dev: { id: string; key: string };
  let channelId: string;

  const shot = async (name: string) => b.shot(page, name);
  /** axe-core on the page as it is now (all rules): every violation fails the test. */
  const axe = async (what: string) => b.axe(page, what);

  /** The simulated device: reports each desired state back. */
  const connectDevice = async () => {
    const c = await connectTls(t, { clientId: dev.id, username: dev.id, password: dev.key });
    let reported = 0;
    c.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as { version?: number; state?: object };
      if (topic === deviceTopic.desired(dev.id)) {
        c.publish(
          deviceTopic.reported(dev.id),
          JSON.stringify({
            version: ++reported,
            desiredVersion: body.version,
            state: body.state,
            errors: [],
          }),
          { qos: 1 },
        );
      }
    });
    await new Promise<void>((resolve, reject) =>
      c.subscribe(
        deviceTopic.inbound(dev.id).map((f) => f),
        { qos: 1 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    return c;
  };

  before(async () => {
    t = await startTestHub();
    owner = await setupOwner(t);
    const d = await owner.owner.devices.create({
      name: 'press-7',
      type: 'press',
      firmwareVersion: '1.4.2',
    });
    dev = { id: d.id, key: (await owner.owner.devices.createKey(d.id)).key };
    const ch = await owner.owner.channels.create({
      name: 'line-3 sensors',
      contentType: 'application/senml+json',
    });
    channelId = ch.id;
    await owner.owner.channels.connect(ch.id, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    b = await launchConsoleBrowser();
    page = await b.newPage({ viewport: { width: 1100, height: 700 } });
  });
  after(async () => {
    device?.end(true);
    await b?.close();
    await t?.close();
  });

  it('signs in; the device page shows it go online without a reload', async () => {
    await signIn(page, t.url, 'owner@example.com');
    await page.goto(`${t.url}/devices/${dev.id}`);
    await page.getByRole('heading', { name: /press-7/ }).waitFor();
    await page.locator('[data-presence="offline"]').waitFor();
    // The stream is up before the device connects (no event may be missed by the assertion).
    await page.waitForFunction("document.documentElement.dataset.live === 'connected'");
    device = await connectDevice();
    await page.locator('[data-presence="online"]').waitFor();
  });

  it('refuses a malformed twin patch in the page; a change made elsewhere shows live', async () => {
    // A malformed patch is refused in the page with a readable message; nothing is sent.
    await page.getByLabel('Change desired (JSON merge patch)').fill('{"led": on}');
    await page.getByRole('button', { name: 'Apply to desired' }).click();
    await page.getByText(/The patch is not JSON/).waitFor();
    // A change made elsewhere shows live, and the device's report of it.
    await owner.owner.twins.patchDesired(dev.id, { mode: 'eco' });
    await page.locator('[data-twin="reported"]', { hasText: '"mode": "eco"' }).waitFor();
    await page.locator('[data-twin-sync="yes"]').waitFor();
    const twin = await owner.owner.twins.get(dev.id);
    assert.deepEqual(twin.reported?.state, { mode: 'eco' });
  });

  it("shows the hub's problem+json refusal readably, and changes nothing", async () => {
    const before = await owner.owner.twins.get(dev.id);
    const deep = '{"a":'.repeat(20) + '1' + '}'.repeat(20);
    await page.getByLabel('Change desired (JSON merge patch)').fill(deep);
    await page.getByRole('button', { name: 'Apply to desired' }).click();
    await page
      .getByRole('alert')
      .getByText(/The twin state or patch is not acceptable: .*nested deeper than 16/)
      .waitFor();
    assert.equal((await owner.owner.twins.get(dev.id)).desired.version, before.desired.version);
    // The refusal is the one failed request the browser reports.
    assert.deepEqual(b.problems.splice(0), [
      'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
    ]);
    await page.getByLabel('Change desired (JSON merge patch)').fill('');
    await axe('device');
  });

  it('lists the device keys; a new key is shown once and revoked from the page', async () => {
    const keys = page.getByRole('table', { name: 'Device keys' });
    await keys.locator('tr[data-key-id]').first().waitFor();
    assert.equal(await keys.locator('tr[data-key-id]').count(), 1);
    const before = new Set((await owner.owner.devices.keys(dev.id)).map((k) => k.id));
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('New device key').inputValue();
    assert.ok(secret.length >= 20, 'the secret is shown');
    await keys.locator('tr[data-key-id]').nth(1).waitFor();
    const fresh = (await owner.owner.devices.keys(dev.id)).find((k) => !before.has(k.id));
    assert.ok(fresh);
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByLabel('New device key').count(), 0, 'shown once');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: `Revoke key ${fresh.id}` }).click();
    await keys.locator(`tr[data-key-id="${fresh.id}"]`, { hasText: 'revoked' }).waitFor();
    const after = await owner.owner.devices.keys(dev.id);
    assert.equal(after.filter((k) => k.revokedAt === null).length, 1, 'the device keeps its own');
    await axe('device keys');
  });

  it('goes offline live when the device disconnects', async () => {
    device?.end(true);
    device = undefined;
    await page.locator('[data-presence="offline"]').waitFor();
  });

  it('charts the SenML of a channel with the hub aggregating per bucket', async () => {
    const c = await connectTls(t, { clientId: dev.id, username: dev.id, password: dev.key });
    device = c;
    for (let i = 0; i < 12; i++) {
      // One reading a minute over the last 12 minutes (SenML times): one-minute buckets.
      const at = Math.floor(Date.now() / 1000) - (11 - i) * 60;
      const pack = [{ n: 'temperature', u: 'Cel', v: 20 + (i % 5) * 0.7, t: at }];
      await c.publishAsync(channelTopic(channelId, ''), JSON.stringify(pack), {
        qos: 1,
        properties: { contentType: 'application/senml+json' },
      });
    }
    await page.getByRole('link', { name: 'Telemetry' }).click();
    await page.waitForURL('**/telemetry');
    await page.getByRole('table', { name: 'Messages' }).waitFor();
    const chart = page.getByRole('img', { name: /temperature.*avg per 1m/ });
    await chart.waitFor();
    // The chart's text summary: the hub's buckets, each a minute's average.
    const label = (await chart.getAttribute('aria-label')) ?? '';
    const n = Number(/: (\d+) values/.exec(label)?.[1]);
    assert.ok(n >= 2, label);
    assert.match(label, /from 20 to 22\.8/);
    await axe('telemetry');
    await shot('telemetry');
  });

  it('gives and takes back a device-group permission in the Admin page', async () => {
    const api = owner.owner;
    const site = await api.locations.create({ name: 'Plant', kind: 'site' });
    const building = (name: string) =>
      api.locations.create({ name, kind: 'building', parentId: site.id });
    const [b3, b4] = [await building('building-3'), await building('building-4')];
    const place = async (name: string, locationId: string) =>
      (await api.devices.create({ name, type: 'press', locationId })).id;
    const [inside, outside] = [await place('press-b3', b3.id), await place('press-b4', b4.id)];
    const addUser = (email: string, grants: ('users:manage' | 'devices:read')[] = []) =>
      api.users.create({ email, name: email, password: PASSWORD, role: 'viewer', grants });
    const alice = await addUser('alice@example.com');
    const daveId = (await addUser('dave@example.com', ['users:manage'])).id;
    // Another organization's location: never offered (the hub refuses its id with a 400 anyway).
    const org2 = await api.orgs.create({ name: 'Elsewhere' });
    const t2 = await t
      .client()
      .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id });
    await t.client(t2.accessToken).locations.create({ name: 'theirs', kind: 'site' });

    // The owner gives Alice (a viewer) devices:manage on building-3 through the page.
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL('**/admin');
    const form = page.getByRole('form', { name: 'Add a device-group permission' });
    await form.getByLabel('Member').selectOption({ label: 'alice@example.com (viewer)' });
    const where = await form.getByLabel('Location').locator('option').allTextContents();
    assert.ok(where.some((o) => o.includes('building-3')) && !where.some((o) => /theirs/.test(o)));
    const offered = (f: typeof form) =>
      f
        .locator('input[name=permission]')
        .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    assert.deepEqual(await offered(form), [
      'devices:manage',
      'firmware:update',
      'application:update',
      'network:configure',
    ]);
    const give = form.getByRole('button', { name: 'Give permission' });
    assert.ok(await give.isDisabled(), 'no group chosen yet');
    // A tag the hub refuses: a readable problem, nothing written.
    await form.getByLabel('Tag').fill('no spaces!');
    await form.getByRole('checkbox', { name: 'devices:manage' }).check();
    await give.click();
    await form.getByRole('alert').getByText(/tag/).waitFor();
    assert.match(await form.getByRole('alert').innerText(), /\b400 validation_failed\b/);
    assert.deepEqual(b.problems.splice(0), [
      'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
    ]);
    assert.deepEqual((await api.users.list()).find((u) => u.id === alice.id)?.scopedGrants, []);
    await form.getByLabel('Tag').fill('');
    await form.getByLabel('Location').selectOption(b3.id);
    await give.click();
    const row = page.locator('tr', { hasText: 'alice@example.com' });
    await row.getByText('devices:manage on building-3 (and below)').waitFor();
    const [grant] = (await api.users.list()).find((u) => u.id === alice.id)!.scopedGrants;
    assert.deepEqual(
      [grant?.permissions, grant?.locationId, grant?.tag],
      [['devices:manage'], b3.id, null],
    );
    await axe('admin: scoped grants');
    await b.shot(page, 'admin-device-groups', true);

    // Alice is offered the twin editor on a device there, not elsewhere.
    const p = await b.newPage({ viewport: { width: 1100, height: 700 } });
    await signIn(p, t.url, 'alice@example.com');
    await p.getByLabel('Select press-b3').waitFor();
    const editor = p.getByLabel('Change desired (JSON merge patch)');
    await p.goto(`${t.url}/devices/${inside}`);
    await editor.waitFor();
    const noEditor = async (id: string, name: RegExp) => {
      await p.goto(`${t.url}/devices/${id}`);
      await p.getByRole('heading', { name }).waitFor();
      await p.getByLabel('Reported state').waitFor();
      assert.equal(await editor.count(), 0, `no editor on ${String(name)}`);
    };
    await noEditor(outside, /press-b4/);
    // Nor is there an Admin form for her (no users:manage).
    await p.goto(`${t.url}/admin`);
    await p.getByRole('heading', { name: 'Administration' }).waitFor();
    assert.equal(await p.getByRole('form', { name: 'Add a device-group permission' }).count(), 0);

    // Dave manages users but holds no device permission: no form, and Alice's grant (more than
    // he holds on building-3) is not his to take back.
    const d = await b.newPage({ viewport: { width: 1100, height: 700 } });
    await signIn(d, t.url, 'dave@example.com');
    await d.goto(`${t.url}/admin`);
    const daveRow = d.locator('tr', { hasText: 'alice@example.com' });
    await daveRow.getByText('devices:manage on building-3 (and below)').waitFor();
    assert.equal(await d.getByRole('form', { name: 'Add a device-group permission' }).count(), 0);
    assert.equal(await daveRow.getByRole('button', { name: /^Take back/ }).count(), 0);
    // Given devices:manage on building-3 himself, he may give it there (and take Alice's back),
    // and nothing on building-4.
    await api.users.addScopedGrant(daveId, { permissions: ['devices:manage'], locationId: b3.id });
    await d.reload();
    const daveForm = d.getByRole('form', { name: 'Add a device-group permission' });
    await daveForm.getByLabel('Location').selectOption(b4.id);
    await daveForm.getByText('You hold no device permission on that group.').waitFor();
    await daveForm.getByLabel('Location').selectOption(b3.id);
    assert.deepEqual(await offered(daveForm), ['devices:manage']);
    await daveRow
      .getByRole('button', { name: /^Take back devices:manage on building-3/ })
      .waitFor();
    assert.deepEqual(await b.cspViolations(d), []);
    await d.close();

    // The owner takes it back (after a confirmation); Alice's editor is gone at her next load.
    page.once('dialog', (dlg) => void dlg.accept());
    await row
      .getByRole('button', {
        name: 'Take back devices:manage on building-3 (and below) from alice@example.com',
      })
      .click();
    await row.getByText('devices:manage on building-3').waitFor({ state: 'detached' });
    assert.deepEqual((await api.users.list()).find((u) => u.id === alice.id)?.scopedGrants, []);
    await noEditor(inside, /press-b3/);
    assert.deepEqual(await b.cspViolations(p), []);
  });

  it('ran without a CSP violation or a console error', async () => {
    assert.deepEqual(await b.cspViolations(page), []);
    assert.deepEqual(b.problems, []);
  });
});
