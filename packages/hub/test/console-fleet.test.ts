/**
 * The console's fleet table at 10,000 devices in a real browser (issue 15 item 2; decision 0038
 * amendment): devices written through the storage port, the table virtualised (only rows near the
 * view are in the DOM), filtered, sorted and read by position by the hub. The test checks what is
 * shown — never how fast; it reports the timings as diagnostics (`bench/console-fleet.mjs` prints
 * their medians).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import {
  consoleMissing,
  launchConsoleBrowser,
  signIn,
  type ConsoleBrowser,
} from './console-helpers.js';
import {
  fleetDevice,
  fleetName,
  median,
  provisionFleet,
  scrollFrames,
  timeFilter,
  timeJump,
  waitForFleet,
  waitForRowsFilled,
} from './console-fleet-scenario.js';

const N = 10_000;
/** Rows the DOM may hold at once: the visible ones and the overscan, never the fleet. */
const MAX_ROWS = 80;

describe('console fleet table at 10,000 devices in Chromium', { skip: consoleMissing }, () => {
  let t: TestHub;
  let b: ConsoleBrowser;
  let page: Page;
  let owner: Awaited<ReturnType<typeof setupOwner>>;
  let ids: string[];
  const count = (pred: (d: ReturnType<typeof fleetDevice>) => boolean) => {
    let n = 0;
    for (let i = 0; i < N; i++) if (pred(fleetDevice(i))) n++;
    return n;
  };
  const rowNames = () => page.locator('.fleet-scroll tbody tr[data-device-id] a').allTextContents();
  const domRows = () => page.locator('.fleet-scroll tbody tr:not(.spacer)').count();

  before(async () => {
    t = await startTestHub();
    owner = await setupOwner(t);
    const started = Date.now();
    ids = await provisionFleet(t.hub.storage, owner.orgId, N);
    console.log(
      `# ${N} devices provisioned through the storage port in ${Date.now() - started} ms`,
    );
    b = await launchConsoleBrowser();
    page = await b.newPage({ viewport: { width: 1200, height: 800 } });
  });
  after(async () => {
    await b?.close();
    await t?.close();
  });

  it('shows all 10,000 with only the rows in view in the DOM', async () => {
    await signIn(page, t.url, 'owner@example.com');
    await waitForFleet(page, N);
    assert.match((await page.locator('.fleet .count').textContent()) ?? '', /10,000 devices/);
    const names = await rowNames();
    assert.equal(names[0], fleetName(0));
    assert.deepEqual(names.slice(0, 5), [0, 1, 2, 3, 4].map(fleetName));
    const rows = await domRows();
    assert.ok(rows > 5 && rows <= MAX_ROWS, `${rows} rows in the DOM`);
    assert.equal(
      await page.getByRole('table', { name: 'Devices' }).getAttribute('aria-rowcount'),
      String(N + 1),
    );
    await b.axe(page, 'fleet (10,000 devices)');
    await b.shot(page, 'fleet-10k', false);
  });

  it('scrolls anywhere: a far row loads by position, the DOM stays small', async (ctx) => {
    const jump = await timeJump(page, 7_500, fleetName(7_500));
    const row = page.locator('.fleet-scroll tr[data-device-id]', { hasText: fleetName(7_500) });
    assert.equal(await row.getAttribute('aria-rowindex'), String(7_500 + 2));
    const rows = await domRows();
    assert.ok(rows <= MAX_ROWS, `${rows} rows in the DOM`);
    const frames = await scrollFrames(page, 60);
    ctx.diagnostic(
      `jump to row 7,500: ${jump.toFixed(0)} ms; scroll frames (60, 12 rows each): median ${median(frames).toFixed(1)} ms, max ${Math.max(...frames).toFixed(1)} ms`,
    );
    // After the fling, the rows under the view are filled in by their blocks.
    await waitForRowsFilled(page);
    assert.ok((await domRows()) <= MAX_ROWS);
  });

  it('filters on the hub: name, online, type and firmware, with the right counts', async (ctx) => {
    const byName = await timeFilter(page, 'dev-0012', 10);
    assert.deepEqual(
      await rowNames(),
      [120, 121, 122, 123, 124, 125, 126, 127, 128, 129].map(fleetName),
    );
    await page.getByLabel('Filter by name').fill('');
    await waitForFleet(page, N);
    await page.getByLabel('Online').selectOption('online');
    const online = count((d) => d.online);
    await waitForFleet(page, online);
    assert.ok((await page.locator('.fleet-scroll tr[data-device-id] .badge.off').count()) === 0);
    await page.getByLabel('Type', { exact: true }).fill('pump');
    await page.getByLabel('Firmware version').fill('2.0.0');
    const matching = count((d) => d.online && d.type === 'pump' && d.firmwareVersion === '2.0.0');
    await waitForFleet(page, matching);
    const shown = await rowNames();
    assert.equal(shown.length, Math.min(matching, MAX_ROWS));
    for (const name of shown) {
      const d = fleetDevice(Number(name.slice(4)));
      assert.ok(d.online && d.type === 'pump' && d.firmwareVersion === '2.0.0', name);
    }
    await b.axe(page, 'fleet (filtered)');
    // Back to everything, for the sort.
    await page.getByLabel('Online').selectOption('');
    await page.getByLabel('Type', { exact: true }).fill('');
    await page.getByLabel('Firmware version').fill('');
    const all = await timeFilter(page, '', N);
    ctx.diagnostic(
      `filter to rendered rows (incl. 200 ms debounce): name ${byName.toFixed(0)} ms, cleared ${all.toFixed(0)} ms`,
    );
  });

  it('sorts on the hub by a column header, either way', async () => {
    const header = page.getByRole('columnheader', { name: /Name/ });
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    await header.getByRole('button').click();
    await page.locator('.fleet-scroll tr[data-device-id]', { hasText: fleetName(N - 1) }).waitFor();
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    assert.deepEqual((await rowNames()).slice(0, 3), [N - 1, N - 2, N - 3].map(fleetName));
  });

  it('saves the filters as a view and applies it again', async () => {
    await timeFilter(page, 'dev-0004', 10);
    await page.getByLabel('Save these filters as').fill('forties');
    await page.getByRole('button', { name: 'Save view' }).click();
    await page
      .getByLabel('Saved view', { exact: false })
      .and(page.locator('select'))
      .locator('option', { hasText: 'forties' })
      .waitFor({
        state: 'attached',
      });
    const [view] = await owner.owner.views.list();
    assert.deepEqual(view?.query, { q: 'dev-0004', sort: '-name' });
    await timeFilter(page, '', N);
    await page
      .getByLabel('Saved view', { exact: false })
      .and(page.locator('select'))
      .selectOption({ label: 'forties' });
    await waitForFleet(page, 10);
    assert.equal(await page.getByLabel('Filter by name').inputValue(), 'dev-0004');
    assert.equal((await rowNames())[0], fleetName(49));
  });

  it('acts on the filtered selection after a confirm step, with a result per device', async () => {
    // One of the ten is decommissioned meanwhile: the hub refuses it alone.
    await t.hub.storage.devices.update(owner.orgId, ids[42]!, { state: 'decommissioned' });
    await page.getByRole('button', { name: 'Select all 10 matching' }).click();
    await page.getByText('10 selected').waitFor();
    const bulk = page.getByRole('region', { name: 'Bulk action' });
    await bulk.getByLabel('Action').selectOption('tag');
    await bulk.getByLabel('Add tags').fill('checked');
    await bulk.getByRole('button', { name: 'Review' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Confirm bulk action' });
    await confirm.getByText('Change tags on 10 devices?').waitFor();
    assert.deepEqual((await owner.owner.devices.get(ids[41]!)).tags, ['line-1'], 'nothing yet');
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await bulk.getByText('9 done, 1 refused.').waitFor();
    const refused = bulk.locator('tr[data-result="refused"]');
    assert.equal(await refused.count(), 1);
    assert.match((await refused.textContent()) ?? '', /dev-00042.*device_decommissioned/);
    assert.deepEqual((await owner.owner.devices.get(ids[41]!)).tags, ['line-1', 'checked']);
    assert.deepEqual((await owner.owner.devices.get(ids[42]!)).tags, ['line-2']);
    await b.axe(page, 'fleet (bulk results)');
    await b.shot(page, 'fleet-bulk', false);
    await bulk.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByRole('region', { name: 'Bulk action' }).count(), 0);
  });

  it('ran without a CSP violation or a console error', async () => {
    assert.deepEqual(await b.cspViolations(page), []);
    assert.deepEqual(b.problems, []);
  });
});
