/**
 * The console's channel rights and bulk actions beyond 500 devices, in Chromium (issue 15 items 4
 * and 2; decision 0038 amendment "channel rights, and bulk actions in chunks"): an owner grants a
 * device publish on a channel and revokes it, a wrong id shows the API's problem; a viewer sees the
 * rights without a grant or revoke control (and the API refuses them); all of 1,200 matching
 * devices selected and tagged in three chunks of ≤ 500, checked through the API; a chunk the API
 * refuses does not stop the next; Cancel stops before the next chunk. Devices are written
 * through the storage port. axe-core clean, no CSP violation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Page, Request, Route } from 'playwright-core';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import {
  consoleMissing,
  launchConsoleBrowser,
  signIn,
  type ConsoleBrowser,
} from './console-helpers.js';
import { provisionFleet, waitForFleet } from './console-fleet-scenario.js';

const N = 1_200;
const BULK = '**/devices/bulk/actions';

describe(
  'console channel rights and chunked bulk actions in Chromium',
  { skip: consoleMissing },
  () => {
    let t: TestHub;
    let b: ConsoleBrowser;
    let page: Page;
    let owner: Awaited<ReturnType<typeof setupOwner>>;
    let ids: string[];
    let channelId: string;

    /** Every device's tags, read through the API 500 at a time. */
    const tagsById = async (): Promise<Map<string, string[]>> => {
      const out = new Map<string, string[]>();
      for (let offset = 0; offset < N; offset += 500) {
        const p = await owner.api.devices.list({ sort: 'name', offset, limit: 500 });
        for (const d of p.items) out.set(d.id, d.tags);
      }
      return out;
    };

    before(async () => {
      t = await startTestHub();
      owner = await setupOwner(t);
      ids = await provisionFleet(t.hub.storage, owner.orgId, N);
      channelId = (await owner.api.channels.create({ name: 'line-1 telemetry' })).id;
      await owner.owner.users.create({
        email: 'viewer@example.com',
        name: 'Vic Viewer',
        password: PASSWORD,
        role: 'viewer',
      });
      b = await launchConsoleBrowser();
      page = await b.newPage({ viewport: { width: 1200, height: 800 } });
    });
    after(async () => {
      await b?.close();
      await t?.close();
    });

    it('grants a device publish on a channel, lists it, and revokes it', async () => {
      await signIn(page, t.url, 'owner@example.com');
      await page.getByRole('link', { name: 'Telemetry' }).click();
      const rights = page.getByRole('region', { name: 'Channel rights' });
      await rights.getByText('No device or API key may publish or subscribe here yet').waitFor();
      await b.axe(page, 'telemetry (no rights)');

      // An id that is no device of this organization: the API's problem, shown precisely.
      const grant = rights.getByRole('form', { name: 'Grant rights' });
      await grant.getByLabel('Client type').selectOption('device');
      await grant.getByLabel('Client id').fill('not-a-uuid');
      await rights.getByText('An id is a UUID').waitFor();
      assert.equal(await grant.getByRole('button', { name: 'Grant' }).isDisabled(), true);
      await grant.getByLabel('Client id').fill(randomUUID());
      await grant.getByRole('button', { name: 'Grant' }).click();
      const problem = rights.getByRole('alert');
      await problem.getByText('no such device in this organization').waitFor();
      assert.match((await problem.textContent()) ?? '', /404 not_found/);
      assert.deepEqual(b.problems.splice(0), [
        'console: Failed to load resource: the server responded with a status of 404 (Not Found)',
      ]);

      // Keyboard only: the id typed, Subscribe left off, Enter submits.
      await grant.getByLabel('Client id').fill(ids[5]!);
      await grant.getByLabel('Client id').press('Enter');
      const row = rights.locator(`tr[data-client-id="${ids[5]}"]`);
      await row.waitFor();
      // The device's name beside its id, read with the list (no request per row).
      const name5 = (await owner.api.devices.get(ids[5]!)).name;
      assert.deepEqual((await row.locator('td').allTextContents()).slice(0, 5), [
        'Device',
        name5,
        ids[5],
        'yes',
        'no',
      ]);
      const [conn] = await owner.api.channels.connections(channelId);
      assert.deepEqual(
        { type: conn?.clientType, id: conn?.clientId, pub: conn?.publish, sub: conn?.subscribe },
        { type: 'device', id: ids[5], pub: true, sub: false },
      );
      await b.axe(page, 'telemetry (one right)');
      await b.shot(page, 'telemetry-rights', false);

      await row.getByRole('button', { name: `Revoke Device ${name5}` }).click();
      await rights.getByText('has no rights on this channel any more').waitFor();
      await row.waitFor({ state: 'detached' });
      assert.deepEqual(await owner.api.channels.connections(channelId), []);
    });

    it('shows a viewer the rights without a grant or revoke control; the API refuses them', async () => {
      await owner.api.channels.connect(channelId, {
        clientType: 'device',
        clientId: ids[6]!,
        publish: true,
        subscribe: true,
      });
      const viewer = await b.newPage();
      await signIn(viewer, t.url, 'viewer@example.com');
      await viewer.getByRole('link', { name: 'Telemetry' }).click();
      const rights = viewer.getByRole('region', { name: 'Channel rights' });
      const row = rights.locator(`tr[data-client-id="${ids[6]}"]`);
      await row.waitFor();
      assert.deepEqual((await row.locator('td').allTextContents()).slice(0, 5), [
        'Device',
        (await owner.api.devices.get(ids[6]!)).name,
        ids[6],
        'yes',
        'yes',
      ]);
      assert.equal(await rights.getByRole('button').count(), 0);
      assert.equal(await rights.getByRole('form', { name: 'Grant rights' }).count(), 0);
      assert.equal(await rights.getByRole('columnheader', { name: 'Actions' }).count(), 0);
      await b.axe(viewer, 'telemetry (viewer)');
      assert.deepEqual(await b.cspViolations(viewer), []);
      const vt = await t.client().auth.login({ email: 'viewer@example.com', password: PASSWORD });
      const v = t.client(vt.accessToken);
      await assert.rejects(v.channels.disconnect(channelId, 'device', ids[6]!), {
        code: 'forbidden',
      });
      await assert.rejects(
        v.channels.connect(channelId, {
          clientType: 'device',
          clientId: ids[7]!,
          publish: true,
          subscribe: false,
        }),
        { code: 'forbidden' },
      );
      await viewer.context().close();
    });

    it('selects all 1,200 matching and tags them in three chunks of at most 500', async () => {
      // One is decommissioned: the hub refuses it alone, in its chunk.
      await t.hub.storage.devices.update(owner.orgId, ids[700]!, { state: 'decommissioned' });
      const sizes: number[] = [];
      const onRequest = (r: Request) => {
        if (r.url().endsWith('/devices/bulk/actions'))
          sizes.push((r.postDataJSON() as { deviceIds: string[] }).deviceIds.length);
      };
      page.on('request', onRequest);
      await page.getByRole('link', { name: 'Fleet' }).click();
      await waitForFleet(page, N);
      await page.getByRole('button', { name: 'Select all 1,200 matching' }).click();
      await page.getByRole('heading', { name: 'Act on 1,200 selected devices' }).waitFor();
      const bulk = page.getByRole('region', { name: 'Bulk action' });
      await bulk.getByLabel('Action').selectOption('tag');
      await bulk.getByLabel('Add tags').fill('audited');
      await bulk.getByRole('button', { name: 'Review' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Confirm bulk action' });
      await confirm.getByText('Change tags on 1,200 devices?').waitFor();
      await confirm.getByText('Sent in 3 chunks of at most 500').waitFor();
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      await bulk.getByText('1,199 done, 1 refused.').waitFor({ timeout: 60_000 });
      page.off('request', onRequest);
      assert.deepEqual(sizes, [500, 500, 200]);
      const refused = bulk.locator('tr[data-result="refused"]');
      assert.equal(await refused.count(), 1);
      assert.match((await refused.textContent()) ?? '', /dev-00700.*device_decommissioned/);
      assert.equal(await bulk.locator('tr[data-result="ok"]').count(), N - 1);

      const tags = await tagsById();
      assert.equal(tags.size, N);
      const tagged = ids.filter((id) => tags.get(id)!.includes('audited'));
      assert.equal(tagged.length, N - 1);
      assert.deepEqual(tags.get(ids[700]!), ['line-0']);
      await b.axe(page, 'fleet (1,200 bulk results)');
      await bulk.getByRole('button', { name: 'Done' }).click();
    });

    it('goes on after a refused chunk, and Cancel stops before the next chunk', async () => {
      // The second request is refused as a whole (as a flood limit would).
      let n = 0;
      const refuseSecond = async (route: Route) => {
        if (++n !== 2) return route.continue();
        return route.fulfill({
          status: 429,
          contentType: 'application/problem+json',
          body: JSON.stringify({
            type: 'about:blank',
            title: 'Too many requests',
            status: 429,
            code: 'rate_limited',
            detail: 'slow down',
          }),
        });
      };
      await page.route(BULK, refuseSecond);
      await page.getByRole('button', { name: 'Select all 1,200 matching' }).click();
      await page.getByRole('heading', { name: 'Act on 1,200 selected devices' }).waitFor();
      const bulk = page.getByRole('region', { name: 'Bulk action' });
      await bulk.getByLabel('Action').selectOption('tag');
      await bulk.getByLabel('Remove tags').fill('audited');
      await bulk.getByRole('button', { name: 'Review' }).click();
      await page
        .getByRole('alertdialog', { name: 'Confirm bulk action' })
        .getByRole('button', { name: 'Confirm' })
        .click();
      await bulk.getByText('700 done, 500 refused.').waitFor({ timeout: 60_000 });
      await page.unroute(BULK, refuseSecond);
      assert.equal(n, 3);
      assert.match(
        (await bulk.locator('tr[data-result="refused"]').first().textContent()) ?? '',
        /refused: rate_limited/,
      );
      let tags = await tagsById();
      // Chunk 1 (dev-00000…00499) and 3 (dev-01000…01199) done; chunk 2 untouched.
      assert.deepEqual(
        [0, 499, 500, 999, 1000, 1199].map((i) => tags.get(ids[i]!)!.includes('audited')),
        [false, false, true, true, false, false],
      );
      assert.deepEqual(b.problems.splice(0), [
        'console: Failed to load resource: the server responded with a status of 429 (Too Many Requests)',
      ]);
      await bulk.getByRole('button', { name: 'Done' }).click();

      // Cancel while the first chunk is under way: it completes, nothing more is sent.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let sent = 0;
      const hold = async (route: Route) => {
        sent++;
        await held;
        return route.continue();
      };
      await page.route(BULK, hold);
      await page.getByRole('button', { name: 'Select all 1,200 matching' }).click();
      await page.getByRole('heading', { name: 'Act on 1,200 selected devices' }).waitFor();
      await bulk.getByLabel('Action').selectOption('tag');
      await bulk.getByLabel('Add tags').fill('second');
      await bulk.getByRole('button', { name: 'Review' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Confirm bulk action' });
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      await confirm.getByRole('progressbar', { name: 'Bulk action progress' }).waitFor();
      await b.axe(page, 'fleet (bulk in progress)');
      await confirm.getByRole('button', { name: 'Cancel the remaining chunks' }).click();
      release();
      await bulk.getByText('500 done, 0 refused; cancelled: 700 not sent.').waitFor({
        timeout: 30_000,
      });
      await page.unroute(BULK, hold);
      assert.equal(sent, 1);
      tags = await tagsById();
      assert.equal(ids.filter((id) => tags.get(id)!.includes('second')).length, 500);
      assert.deepEqual(tags.get(ids[499]!)!.includes('second'), true);
      assert.deepEqual(tags.get(ids[500]!)!.includes('second'), false);
    });

    it('ran without a CSP violation or a console error', async () => {
      assert.deepEqual(await b.cspViolations(page), []);
      assert.deepEqual(b.problems, []);
    });
  },
);
