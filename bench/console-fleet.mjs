// The console's fleet table at 10,000 devices (issue 15 item 2; decision 0038 amendment), in
// Debian's Chromium against a hub on loopback: devices written through the storage port, then
// medians of five runs of
//   - filter → rendered rows (typing in the name filter until the table shows the matches; it
//     includes the filter's 200 ms debounce), beside the same list call made straight to the API;
//   - scroll frames (60 animation frames, 12 rows scrolled per frame), beside idle frames (the
//     browser's own frame interval on the same page, nothing scrolled);
//   - a jump to a far row until its device shows, beside the API call for that window.
// Before them: the initial JS (gzipped), the first contentful paint of /login in a fresh page
// (beside the page's time to first byte), and sign-in → the first rows of the N-device fleet
// shown (the first meaningful paint after signing in), each the median of five fresh pages.
// The hub runs in this process and shares the machine with Chromium: figures, not a gate.
// Usage: npm run build && node bench/console-fleet.mjs [devices] (after tsc -b and the console build).
import { loadavg } from 'node:os';
import { setupOwner, startTestHub } from '../packages/hub/dist/test/helpers.js';
import {
  initialJsGzipBytes,
  launchConsoleBrowser,
  signIn,
} from '../packages/hub/dist/test/console-helpers.js';
import { PASSWORD } from '../packages/hub/dist/test/helpers.js';
import {
  fleetName,
  median,
  provisionFleet,
  scrollFrames,
  timeFilter,
  timeJump,
  waitForFleet,
  waitForRowsFilled,
} from '../packages/hub/dist/test/console-fleet-scenario.js';

const N = Number(process.argv[2] ?? 10_000);
const RUNS = 5;
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const row = (what, value, reference, refName) =>
  console.log(
    `| ${what} | ${fmt(value)} | ${refName} ${fmt(reference)} | ${(value / reference).toFixed(2)} |`,
  );
const timed = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

const t = await startTestHub();
const b = await launchConsoleBrowser();
try {
  const s = await setupOwner(t);
  const provisioned = await timed(() => provisionFleet(t.hub.storage, s.orgId, N));
  // Fresh pages (no cache, no session cookie): paint of the sign-in page, then sign-in → rows.
  const fcp = [];
  const ttfb = [];
  const firstRows = [];
  const signInApi = [];
  for (let r = 0; r < RUNS; r++) {
    const p = await b.newPage({ viewport: { width: 1200, height: 800 } });
    await p.goto(`${t.url}/login`);
    await p.waitForFunction("performance.getEntriesByName('first-contentful-paint').length > 0");
    const v = await p.evaluate(
      "({ fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime, ttfb: performance.getEntriesByType('navigation')[0].responseStart })",
    );
    fcp.push(v.fcp);
    ttfb.push(v.ttfb);
    await p.getByLabel('Email').fill('owner@example.com');
    await p.getByLabel('Password').fill(PASSWORD);
    firstRows.push(
      await timed(async () => {
        await p.getByRole('button', { name: 'Sign in' }).click();
        await waitForFleet(p, N);
      }),
    );
    signInApi.push(
      await timed(() => t.client().auth.login({ email: 'owner@example.com', password: PASSWORD })),
    );
    await p.context().close();
  }

  const page = await b.newPage({ viewport: { width: 1200, height: 800 } });
  await signIn(page, t.url, 'owner@example.com');
  await waitForFleet(page, N);

  const filter = [];
  const filterApi = [];
  for (let r = 0; r < RUNS; r++) {
    const q = `dev-00${r}`; // 100 matches each (dev-00r00 … dev-00r99), first run warms up
    filter.push(await timeFilter(page, q, Math.min(100, Math.max(0, N - r * 100))));
    filterApi.push(
      await timed(() => s.owner.devices.list({ q, sort: 'name', offset: 0, limit: 100 })),
    );
    await timeFilter(page, '', N);
  }

  const frames = [];
  const idle = [];
  for (let r = 0; r < RUNS; r++) {
    await page.evaluate("document.querySelector('.fleet-scroll').scrollTop = 0");
    await waitForRowsFilled(page);
    idle.push(...(await scrollFrames(page, 60, 0)));
    frames.push(...(await scrollFrames(page, 60, 12)));
    await waitForRowsFilled(page);
  }

  const jumps = [];
  const jumpApi = [];
  for (let r = 0; r < RUNS; r++) {
    const at = Math.floor(((r + 1) * N) / (RUNS + 2));
    jumps.push(await timeJump(page, at, fleetName(at)));
    jumpApi.push(
      await timed(() =>
        s.owner.devices.list({ sort: 'name', offset: at - (at % 100), limit: 100 }),
      ),
    );
  }

  const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? NaN;
  console.log(
    `${N} devices (provisioned through the storage port in ${provisioned.toFixed(0)} ms); ` +
      `${RUNS} runs, medians; load average ${loadavg()[0].toFixed(1)}; the machine may be shared.\n`,
  );
  console.log(`initial JS: ${(initialJsGzipBytes() / 1024).toFixed(1)} KiB gzipped\n`);
  console.log('| measure | console | reference | ratio |');
  console.log('|---|---|---|---|');
  row('first contentful paint of /login', median(fcp), median(ttfb), 'time to first byte');
  row(
    `sign-in → first fleet rows (${N} devices)`,
    median(firstRows),
    median(signInApi),
    'API login call',
  );
  row(
    'filter → rendered rows (incl. 200 ms debounce)',
    median(filter),
    median(filterApi),
    'API list call',
  );
  row('scroll frame (12 rows/frame)', median(frames), median(idle), 'idle frame');
  row('scroll frame p95', p95(frames), p95(idle), 'idle frame p95');
  row('jump to a far row → shown', median(jumps), median(jumpApi), 'API window call');
} finally {
  await b.close();
  await t.close();
}
