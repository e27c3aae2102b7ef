/**
 * The web console served by the hub (decision 0038): index.html at / and for client-side routes a
 * browser asks for, hashed assets cached for a year, the console's strict CSP — and the API's
 * routes and 404s exactly as before. A hub whose console is not built says how to build it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_CSP } from '@bulwark/transport';
import { startTestHub, type TestHub } from './helpers.js';

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

async function get(t: TestHub, path: string, headers: Record<string, string> = {}) {
  const res = await t.fetchWith()(`${t.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('console served by the hub', () => {
  let t: TestHub;
  const dist = mkdtempSync(join(tmpdir(), 'bulwark-console-'));
  const page =
    '<!doctype html><title>console</title><script type="module" src="/assets/app-1a2b.js"></script>';

  before(async () => {
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), page);
    writeFileSync(join(dist, 'assets', 'app-1a2b.js'), 'console.log(1)');
    t = await startTestHub([], { consoleDir: dist });
  });
  after(async () => {
    await t.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves index.html at / under the strict CSP, revalidated on every load', async () => {
    const r = await get(t, '/');
    assert.equal(r.status, 200);
    assert.equal(r.text, page);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(r.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.match(CONSOLE_CSP, /script-src 'self';/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.match(r.headers.get('strict-transport-security') ?? '', /max-age=/);
  });

  it('falls back to index.html for client-side routes a browser asks for', async () => {
    for (const path of ['/fleet', '/alerts', '/login?next=x', '/devices/abc']) {
      const r = await get(t, path, HTML);
      assert.equal(r.status, 200, path);
      assert.equal(r.text, page, path);
      assert.equal(r.headers.get('content-security-policy'), CONSOLE_CSP, path);
    }
  });

  it('serves hashed assets as immutable for a year, under the same CSP', async () => {
    const r = await get(t, '/assets/app-1a2b.js');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'console.log(1)');
    assert.match(r.headers.get('content-type') ?? '', /javascript/);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(r.headers.get('content-security-policy'), CONSOLE_CSP);
  });

  it('keeps API routes and their 404 problems exactly as before, even for a browser', async () => {
    const health = await get(t, '/healthz');
    assert.equal(health.status, 200);
    assert.equal(
      health.headers.get('content-security-policy'),
      "default-src 'none'; frame-ancestors 'none'",
    );
    for (const [path, headers] of [
      ['/api/v1/nope', HTML],
      ['/api/v1/nope', {}],
      ['/api', HTML],
      ['/nope', {}],
      ['/assets/missing-0000.js', HTML],
      ['/favicon.ico', HTML],
      ['/assets/../index.html', {}],
    ] as const) {
      const r = await get(t, path, headers);
      assert.equal(r.status, 404, path);
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, path);
      assert.equal((JSON.parse(r.text) as { code: string }).code, 'route_not_found', path);
      assert.equal(
        r.headers.get('content-security-policy'),
        "default-src 'none'; frame-ancestors 'none'",
        path,
      );
    }
    // A non-GET to a client-side path is not a page either.
    const res = await t.fetchWith()(`${t.url}/fleet`, { method: 'POST', headers: HTML });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'route_not_found');
    // And the API answers as ever.
    const setup = await get(t, '/api/v1/setup');
    assert.equal(setup.status, 200);
    assert.deepEqual(JSON.parse(setup.text), { required: true });
  });
});

describe('console not built', () => {
  let t: TestHub;
  const empty = mkdtempSync(join(tmpdir(), 'bulwark-console-none-'));
  before(async () => {
    t = await startTestHub([], { consoleDir: join(empty, 'dist') });
  });
  after(async () => {
    await t.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers / with a message that says how to build it, not a 500', async () => {
    for (const [path, headers] of [
      ['/', {}],
      ['/fleet', HTML],
    ] as const) {
      const r = await get(t, path, headers);
      assert.equal(r.status, 404, path);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(r.text, /not built/);
      assert.match(r.text, /npm run build/);
    }
    const api = await get(t, '/api/v1/setup');
    assert.equal(api.status, 200);
  });
});
