/**
 * The 10,000-device fleet of the console's fleet test and of `bench/console-fleet.mjs`: devices
 * written straight through the hub's storage port (not 10,000 HTTP calls), and the timings taken
 * in the browser — filter to rendered rows, scroll frames, a jump to a far row.
 */
import { newId, type Storage } from '@bulwark/core';
import type { Page } from 'playwright-core';

export const FLEET_TYPES = ['press', 'oven', 'pump', 'valve'] as const;
export const FLEET_VERSIONS = ['1.0.0', '1.1.0', '2.0.0'] as const;

/** The name of the i-th device: dev-00000 … dev-09999 (sorts as it counts). */
export const fleetName = (i: number): string => `dev-${String(i).padStart(5, '0')}`;

/** What device i looks like: type, firmware, tag, state, online — so tests can count matches. */
export const fleetDevice = (i: number) => ({
  name: fleetName(i),
  type: FLEET_TYPES[i % FLEET_TYPES.length]!,
  firmwareVersion: FLEET_VERSIONS[i % FLEET_VERSIONS.length]!,
  tags: [`line-${i % 10}`],
  state: i % 7 === 0 ? ('provisioned' as const) : ('active' as const),
  online: i % 10 === 3,
});

/** Writes `n` devices of `orgId` and marks every tenth (i % 10 === 3) online; returns the ids. */
export async function provisionFleet(
  storage: Storage,
  orgId: string,
  n: number,
  now = Date.now(),
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = fleetDevice(i);
    const id = newId();
    ids.push(id);
    await storage.devices.create({
      id,
      orgId,
      name: d.name,
      type: d.type,
      firmwareType: 'os',
      firmwareVersion: d.firmwareVersion,
      tags: d.tags,
      mode: 'controlled',
      state: d.state,
      locationId: null,
      lastSeenAt: null,
      createdAt: now,
      updatedAt: now,
    });
  }
  const online = ids
    .filter((_, i) => fleetDevice(i).online)
    .map((deviceId) => ({ orgId, deviceId, sessionId: `s-${deviceId}` }));
  for (let i = 0; i < online.length; i += 500) {
    await storage.presence.markOnline(online.slice(i, i + 500), now);
  }
  return ids;
}

/**
 * The table shows `total` matching devices, its rows for this query loaded. (Locators, not
 * waitForFunction: a polled predicate is evaluated with eval, which the console's CSP refuses.)
 */
export async function waitForFleet(page: Page, total: number): Promise<void> {
  await page
    .locator(`.fleet[data-fleet="ready"] [data-total="${total}"]`)
    .waitFor({ timeout: 15_000 });
  if (total > 0) await page.locator('.fleet-scroll tbody tr[data-device-id]').first().waitFor();
}

/** Waits (at most 10 s) until no row under the view is still waiting for its block. */
export async function waitForRowsFilled(page: Page): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await page.locator('.fleet-scroll tr.pending').count()) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('rows still loading after 10 s');
}

/**
 * Milliseconds from typing `text` into the name filter until the table shows `total` matches
 * (includes the filter's 200 ms debounce and the hub's answer).
 */
export async function timeFilter(page: Page, text: string, total: number): Promise<number> {
  const started = performance.now();
  await page.getByLabel('Filter by name').fill(text);
  await waitForFleet(page, total);
  return performance.now() - started;
}

/**
 * Frame times (ms) while the table is scrolled `frames` times by `rowsPerFrame` rows, one step
 * per animation frame, measured in the page.
 */
export async function scrollFrames(page: Page, frames = 120, rowsPerFrame = 12): Promise<number[]> {
  return page.evaluate<number[]>(`(async () => {
    const el = document.querySelector('.fleet-scroll');
    const out = [];
    await new Promise((r) => requestAnimationFrame(r));
    let last = performance.now();
    for (let i = 0; i < ${frames}; i++) {
      el.scrollTop += ${rowsPerFrame * 36};
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      out.push(now - last);
      last = now;
    }
    return out;
  })()`);
}

/** Milliseconds from setting the scroll position to row `row` until that row's device shows. */
export async function timeJump(page: Page, row: number, name: string): Promise<number> {
  const started = performance.now();
  await page.evaluate(`document.querySelector('.fleet-scroll').scrollTop = ${row * 36}`);
  await page.locator('.fleet-scroll tr[data-device-id]', { hasText: name }).waitFor();
  return performance.now() - started;
}

/** The median of some numbers. */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
};
