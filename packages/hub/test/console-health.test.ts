/**
 * The device page's health history, live events and logs, and bulk twin changes from the fleet's
 * selection, in Chromium (decision 0038, third amendment of 2026-12-07). A device connected over
 * MQTT reports its health six times a minute apart: the CPU chart has six points with the right
 * summary and the table fallback the same numbers (data, not pixels); events and log lines it
 * sends appear on its page without a reload; a bad command name is caught in the page before
 * review; a desired-twin patch to four selected devices is applied to three and the
 * decommissioned one is shown refused. axe-core clean, no CSP violation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { deviceTopic } from '@bulwark/protocol';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';
import {
  consoleMissing,
  launchConsoleBrowser,
  signIn,
  type ConsoleBrowser,
} from './console-helpers.js';

const GIB = 2 ** 30;
const health = (cpu: number) =>
  JSON.stringify({
    at: new Date().toISOString(),
    cpuPercent: cpu,
    memory: { totalBytes: 4 * GIB, availableBytes: 3 * GIB },
    disk: { totalBytes: 100 * GIB, availableBytes: 60 * GIB },
    uptimeSeconds: 600,
    network: { rxBytes: 1, txBytes: 2 },
    listeningPorts: [],
    connections: 2,
  });

describe(
  'console device health, live activity and bulk twin in Chromium',
  { skip: consoleMissing },
  () => {
    let t: TestHub;
    let owner: Awaited<ReturnType<typeof setupOwner>>;
    let b: ConsoleBrowser;
    let page: Page;
    let device: MqttClient;
    let pumpId: string;
    const valves: string[] = [];

    before(async () => {
      t = await startTestHub();
      // The hub's clock runs ten minutes behind the browser's, so the reports below (a minute
      // apart on the hub's clock) all fall in the page's "last hour".
      t.clock.t = Date.now() - 10 * 60_000;
      owner = await setupOwner(t);
      const pump = await owner.owner.devices.create({ name: 'pump-7', type: 'pump' });
      pumpId = pump.id;
      const key = (await owner.owner.devices.createKey(pump.id)).key;
      for (let i = 1; i <= 4; i++)
        valves.push((await owner.owner.devices.create({ name: `valve-${i}`, type: 'valve' })).id);
      device = await connectTls(t, { clientId: pump.id, username: pump.id, password: key });
      for (const cpu of [10, 20, 30, 40, 50, 60]) {
        assert.equal(await publish(device, deviceTopic.metrics(pump.id), health(cpu)), 0);
        t.clock.advance(60_000);
      }
      await t.hub.services.metricsHistory.flush();
      b = await launchConsoleBrowser();
      page = await b.newPage({ viewport: { width: 1100, height: 800 } });
    });
    after(async () => {
      device?.end(true);
      await b?.close();
      await t?.close();
    });

    it('charts the device’s health over the last hour, with the same numbers as a table', async () => {
      await signIn(page, t.url, 'owner@example.com');
      await page.getByRole('link', { name: 'pump-7' }).click();
      await page.waitForURL(`**/devices/${pumpId}`);
      const cpu = page.locator('figure[data-series="cpu"]');
      await cpu.waitFor();
      assert.equal(await cpu.getAttribute('data-points'), '6');
      const label = (await cpu.getByRole('img').getAttribute('aria-label')) ?? '';
      assert.match(
        label,
        /^CPU over the last hour: 6 points, average 35\.0 %, lowest 10\.0 %, highest 60\.0 %, latest 60\.0 %$/,
      );
      const dots = await cpu.locator('circle').all();
      assert.deepEqual(await Promise.all(dots.map((d) => d.getAttribute('data-avg'))), [
        '10',
        '20',
        '30',
        '40',
        '50',
        '60',
      ]);
      // Memory 25 % and disk 40 % used in every report.
      assert.match(
        (await page.locator('figure[data-series="memory"] svg').getAttribute('aria-label')) ?? '',
        /average 25\.0 %.*highest 25\.0 %/,
      );
      const table = page.getByRole('table', { name: 'Health history', includeHidden: true });
      assert.equal(await table.getAttribute('data-buckets'), '6');
      await page.getByText('Health history as a table').click();
      const rows = table.locator('tbody tr');
      assert.equal(await rows.count(), 6);
      assert.equal(
        await rows.first().locator('td[data-series="cpu"]').textContent(),
        '10.0 % (10.0 %–10.0 %)',
      );
      assert.equal(
        await rows.last().locator('td[data-series="disk"]').textContent(),
        '40.0 % (40.0 %–40.0 %)',
      );
      await b.axe(page, 'device health history');
      await b.shot(page, 'device-health', false);
      // The last day: 20-minute buckets, the same six reports in fewer points.
      await page.getByRole('combobox', { name: 'Health history' }).selectOption('day');
      // Shown once the day's buckets (20 minutes) are in.
      await page.locator('[data-bucket-seconds="1200"] figure[data-series="cpu"]').waitFor();
      const points = Number(
        await page.locator('figure[data-series="cpu"]').getAttribute('data-points'),
      );
      assert.ok(points >= 1 && points <= 2, `${points} points`);
      const counts = await page
        .getByRole('table', { name: 'Health history' })
        .locator('tbody tr td:nth-child(2)')
        .allTextContents();
      assert.equal(
        counts.reduce((n, c) => n + Number(c), 0),
        6,
      );
    });

    it('shows the device’s new events and log lines live, without a reload', async (ctx) => {
      await page.waitForFunction("document.documentElement.dataset.live === 'connected'");
      const started = Date.now();
      const events = [
        {
          kind: 'door_opened',
          severity: 'warning',
          at: new Date().toISOString(),
          detail: { by: 'tech' },
        },
      ];
      assert.equal(await publish(device, deviceTopic.events(pumpId), JSON.stringify(events)), 0);
      await page
        .getByRole('table', { name: 'Device events' })
        .locator('tr[data-event-kind="door_opened"]')
        .waitFor();
      ctx.diagnostic(`device event → shown: ${Date.now() - started} ms`);
      const logs = {
        records: [
          {
            ts: new Date().toISOString(),
            level: 'error',
            source: 'pump',
            message: 'seal pressure low',
          },
        ],
      };
      assert.equal(await publish(device, deviceTopic.logs(pumpId), JSON.stringify(logs)), 0);
      await page.getByRole('table', { name: 'Logs' }).getByText('seal pressure low').waitFor();
      await b.axe(page, 'device events and logs');
    });

    it('patches the desired twin of the selection: three applied, a refused one shown', async () => {
      await page.getByRole('link', { name: 'Fleet', exact: true }).click();
      await page.waitForURL('**/fleet');
      await page.getByLabel('Filter by name').fill('valve');
      await page.getByRole('button', { name: 'Select all 4 matching' }).click();
      await page.locator('p.count').getByText('4 selected').waitFor();
      // One of the four is decommissioned meanwhile: the hub refuses it alone.
      await t.hub.storage.devices.update(owner.orgId, valves[3]!, { state: 'decommissioned' });
      const bulk = page.getByRole('region', { name: 'Bulk action' });
      // A command is checked in the page before review, and the confirm says what will be sent.
      await bulk.getByLabel('Action').selectOption('command');
      await bulk.getByRole('textbox', { name: 'Command' }).fill('1reboot');
      await bulk.getByText(/A command name starts with a letter/).waitFor();
      assert.equal(await bulk.getByRole('button', { name: 'Review' }).isDisabled(), true);
      await bulk.getByRole('textbox', { name: 'Command' }).fill('reboot');
      await bulk.getByLabel('Parameters (JSON, optional)').fill('{"delay": 5}');
      await bulk.getByRole('button', { name: 'Review' }).click();
      const ask = page.getByRole('alertdialog', { name: 'Confirm bulk action' });
      await ask
        .getByText('Send “reboot” with {"delay":5} on 4 devices?', { exact: false })
        .waitFor();
      await ask.getByRole('button', { name: 'Cancel' }).click();
      assert.equal((await owner.owner.commands.list(valves[0]!)).items.length, 0, 'nothing sent');
      await bulk.getByLabel('Action').selectOption('twin');
      const patch = bulk.getByLabel('Desired patch (JSON merge patch)');
      await patch.fill('{"valve": open}');
      await bulk.getByText(/The patch is not JSON/).waitFor();
      assert.equal(await bulk.getByRole('button', { name: 'Review' }).isDisabled(), true);
      await patch.fill('{"valve": "open", "limit": 40}');
      await bulk.getByRole('button', { name: 'Review' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Confirm bulk action' });
      await confirm
        .getByText('Merge {"valve":"open","limit":40} into the desired twin on 4 devices?', {
          exact: false,
        })
        .waitFor();
      assert.deepEqual((await owner.owner.twins.get(valves[0]!)).desired.state, {}, 'nothing yet');
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      await bulk.getByText('3 done, 1 refused.').waitFor();
      const refused = bulk.locator('tr[data-result="refused"]');
      assert.equal(await refused.count(), 1);
      assert.match((await refused.textContent()) ?? '', /valve-4.*device_decommissioned/);
      for (const id of valves.slice(0, 3))
        assert.deepEqual((await owner.owner.twins.get(id)).desired.state, {
          valve: 'open',
          limit: 40,
        });
      assert.deepEqual((await owner.owner.twins.get(valves[3]!)).desired.state, {});
      await b.axe(page, 'fleet (bulk twin results)');
      await b.shot(page, 'fleet-bulk-twin', false);
      await bulk.getByRole('button', { name: 'Done' }).click();
    });

    it('ran without a CSP violation or a console error', async () => {
      assert.deepEqual(await b.cspViolations(page), []);
      assert.deepEqual(b.problems, []);
    });
  },
);
