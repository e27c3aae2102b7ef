/**
 * What every console browser test shares (decision 0038): Debian's Chromium launched through
 * playwright-core against a hub on loopback (no name resolves, every other host aborted), CSP
 * violations and console errors collected, axe-core evaluated into the page through DevTools (the
 * page's CSP allows no inline script), screenshots, and signing in through the login form.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PASSWORD } from './helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist', import.meta.url));

/**
 * Why the console tests cannot run here, or undefined. Under CI=true a missing Chromium or an
 * unbuilt console is a failure (thrown at import), never a skip.
 */
export const consoleMissing: string | undefined = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is not installed (apt-get install chromium)`
  : !existsSync(join(CONSOLE_DIST, 'index.html'))
    ? 'the console is not built (npm run build -w @bulwark/console)'
    : undefined;
if (consoleMissing && process.env.CI === 'true') throw new Error(consoleMissing);

/** The initial JS of the built console: the scripts index.html loads, gzipped. */
export function initialJsGzipBytes(): number {
  const html = readFileSync(join(CONSOLE_DIST, 'index.html'), 'utf8');
  const srcs = [
    ...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/([^"]+)"/g),
  ];
  assert.ok(srcs.length > 0, 'index.html loads a script');
  return srcs.reduce((n, m) => n + gzipSync(readFileSync(join(CONSOLE_DIST, m[1]!))).length, 0);
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** A launched Chromium and what the tests collect from it. */
export interface ConsoleBrowser {
  browser: Browser;
  /** Console errors and page errors of every watched page, in order. */
  problems: string[];
  /** Where screenshots go: $BULWARK_SCREENSHOTS, or a temporary directory `close()` removes. */
  shots: string;
  /** A context on loopback only, recording CSP violations; 10 s default timeout. */
  newContext(viewport?: { width: number; height: number }): Promise<BrowserContext>;
  /** A watched page in a new context (or in `context`). */
  newPage(opts?: {
    viewport?: { width: number; height: number };
    context?: BrowserContext;
  }): Promise<Page>;
  /** Collects the page's console errors and page errors into `problems`. */
  watch(p: Page): void;
  /** The CSP violations the page saw. */
  cspViolations(p: Page): Promise<string[]>;
  /**
   * axe-core on the page as it is now; any violation fails, named. All rules by default, or only
   * WCAG 2.0/2.1 A and AA with `wcag: true`.
   */
  axe(p: Page, where: string, opts?: { wcag?: boolean }): Promise<void>;
  /**
   * A PNG of the viewport (the whole page only with `fullPage`: never for long tables) into
   * `shots`.
   */
  shot(p: Page, name: string, fullPage?: boolean): Promise<void>;
  close(): Promise<void>;
}

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/** Launches headless Chromium for the console tests. */
export async function launchConsoleBrowser(): Promise<ConsoleBrowser> {
  const shots = process.env.BULWARK_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'bulwark-shots-'));
  mkdirSync(shots, { recursive: true });
  const root = process.getuid?.() === 0;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      // Chromium's sandbox needs user namespaces that root (CI) cannot use.
      ...(root ? ['--no-sandbox'] : []),
      // Loopback only: no name resolves, no background traffic.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  const problems: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  };
  const newContext = async (viewport = { width: 1100, height: 700 }) => {
    // The hub's certificate is issued by its own CA (the API clients trust it via caFile).
    const c = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
    await c.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
    // CSP violations, as the page sees them (the init script is the browser's, not the page's).
    await c.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => {" +
        ' (window.__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI}`); });',
    );
    c.setDefaultTimeout(10_000);
    return c;
  };
  return {
    browser,
    problems,
    shots,
    newContext,
    async newPage(opts = {}) {
      const p = await (opts.context ?? (await newContext(opts.viewport))).newPage();
      watch(p);
      return p;
    },
    watch,
    // Page-side code is given as text: this package compiles without the DOM's types.
    cspViolations: (p) => p.evaluate<string[]>('window.__csp ?? []'),
    async axe(p, where, opts = {}) {
      if (!(await p.evaluate<boolean>('typeof window.axe === "object"')))
        await p.evaluate(AXE_SOURCE);
      const only = opts.wcag
        ? "runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, "
        : '';
      const { passes, violations } = await p.evaluate<{
        passes: number;
        violations: AxeViolation[];
      }>(
        `axe.run(document, { ${only}resultTypes: ['violations'] })` +
          '.then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })) }))',
      );
      assert.ok(passes > 5, `axe-core checked ${where} (${passes} rules passed)`);
      assert.deepEqual(
        violations.map(
          (v) =>
            `${where}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        ),
        [],
        `axe-core violations in ${where}`,
      );
    },
    async shot(p, name, fullPage = false) {
      await p.screenshot({ path: join(shots, `${name}.png`), animations: 'disabled', fullPage });
    },
    async close() {
      await browser.close();
      if (process.env.BULWARK_SCREENSHOTS === undefined)
        rmSync(shots, { recursive: true, force: true });
    },
  };
}

/** Signs in through the login form and waits for the fleet page. */
export async function signIn(
  p: Page,
  url: string,
  email: string,
  password = PASSWORD,
): Promise<void> {
  await p.goto(`${url}/login`);
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL('**/fleet');
}
