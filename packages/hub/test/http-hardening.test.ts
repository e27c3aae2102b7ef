/**
 * Issue 11, the HTTP app: anonymous failures are counted and sampled into the audit log rather
 * than chained one by one; authentication comes before schema validation; no build version
 * before login; security headers on every response; DDI links from the configured public URL,
 * never from the Host header.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { VERSION } from '@bulwark/hub';
import { raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { link, startDdiFixture, type DdiFixture } from './ddi-fixture.js';

const auditRows = async (t: TestHub) => {
  const v = await t.hub.services.audit.verify();
  assert.ok(v.ok, JSON.stringify(v));
  return v.count;
};

describe('anonymous failures are counted and sampled, not chained one by one', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('100 anonymous failing requests add a bounded number of rows; the chain still verifies', async () => {
    const before = await auditRows(t);
    for (let i = 0; i < 100; i++) {
      const r = await raw(t, 'POST', '/devices', { name: `d${i}`, type: 't' });
      assert.equal(r.status, 401);
    }
    assert.equal(await auditRows(t), before + 1, 'only the first failure of the minute is a row');
    // the next minute: the summary of the last one lands, with its count, then the new first row
    t.clock.advance(61_000);
    await raw(t, 'POST', '/devices', { name: 'late', type: 't' });
    assert.equal(await auditRows(t), before + 3);
    const rows = (await t.hub.storage.audit.scan(before, 10)).map((r) => ({
      action: r.action,
      actorType: r.actorType,
      source: r.source,
      detail: JSON.parse(r.detail ?? '{}') as Record<string, unknown>,
    }));
    assert.equal(rows[0]!.action, 'createDevice');
    assert.equal(rows[0]!.actorType, 'anonymous');
    assert.equal(rows[1]!.action, 'http.anonymousFailures');
    assert.equal(rows[1]!.detail['count'], 99);
    assert.deepEqual(rows[1]!.detail['byCode'], { unauthenticated: 99 });
    assert.deepEqual(rows[1]!.detail['byAction'], { createDevice: 99 });
    assert.equal(rows[1]!.source, rows[0]!.source);
    assert.equal(rows[2]!.action, 'createDevice');
    // every one of them was counted
    const { key } = await s.owner.apiKeys.create({ name: 'm', permissions: ['metrics:read'] });
    const text = await (
      await t.fetchWith()(`${t.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })
    ).text();
    assert.match(text, /^bulwark_http_anonymous_failures_total 101$/m);
  });

  it('failures of an authenticated caller are still audited one by one', async () => {
    const { key } = await s.owner.apiKeys.create({ name: 'r', permissions: ['devices:read'] });
    const before = await auditRows(t);
    for (let i = 0; i < 3; i++)
      assert.equal((await raw(t, 'POST', '/devices', { name: 'x', type: 't' }, key)).status, 403);
    assert.equal(await auditRows(t), before + 3);
  });
});

describe('authentication comes before schema validation', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('an anonymous caller with a bad body learns nothing about the schema', async () => {
    const bad = { name: 'x', type: 't', bogus: 1 };
    for (const token of [undefined, 'not-a-token']) {
      const r = await raw(t, 'POST', '/devices', bad, token);
      assert.equal(r.status, 401, r.text);
      assert.doesNotMatch(r.text, /bogus|schema|must|propert/i);
    }
    const malformed = await raw(t, 'POST', '/devices', '{"not json');
    assert.equal(malformed.status, 401);
    // an authenticated caller still gets the schema's answer
    const r = await raw(t, 'POST', '/devices', bad, s.apiKey);
    assert.equal(r.status, 400);
    assert.equal(r.json['code'], 'unknown_field');
  });
});

describe('no build version before login; security headers on every response', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('shows the API version 1, not the build', async () => {
    const r = await raw(t, 'GET', '/openapi.json');
    assert.equal((r.json['info'] as { version: string }).version, '1');
    assert.ok(!r.text.includes(VERSION), 'the build version is not in the document');
    for (const [name, value] of r.headers) {
      assert.ok(!value.includes(VERSION), `${name}: ${value}`);
      assert.notEqual(name, 'server');
      assert.notEqual(name, 'x-powered-by');
    }
  });

  it('sends HSTS, nosniff, no framing, no referrer and no-store on answers and errors alike', async () => {
    const answers = [
      await raw(t, 'GET', '/openapi.json'),
      await raw(t, 'GET', '/setup'),
      await raw(t, 'GET', '/devices'),
      await raw(t, 'GET', '/no-such-route'),
      await raw(t, 'POST', '/auth/login', { email: 'a@example.com', password: 'x' }),
    ];
    const health = await t.fetchWith()(`${t.url}/healthz`);
    for (const h of [...answers.map((a) => a.headers), health.headers]) {
      assert.equal(h.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
      assert.equal(h.get('x-content-type-options'), 'nosniff');
      assert.equal(h.get('x-frame-options'), 'DENY');
      assert.match(h.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(h.get('referrer-policy'), 'no-referrer');
      assert.equal(h.get('cache-control'), 'no-store');
    }
  });
});

/** A DDI GET with a chosen Host header (fetch does not let a caller set Host). */
function getWithHost(
  f: DdiFixture,
  path: string,
  host: string,
  token: string,
): Promise<Record<string, unknown>> {
  const u = new URL(f.t.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        ca: f.t.ca,
        servername: 'localhost',
        headers: { host, authorization: `TargetToken ${token}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('DDI links come from the public URL, never the Host header', () => {
  let f: DdiFixture;
  let g: DdiFixture;
  before(async () => {
    f = await startDdiFixture();
    g = await startDdiFixture(['--public-url', 'https://updates.example.com:9443']);
  });
  after(async () => {
    await f.close();
    await g.close();
  });

  it('by default, links point at the address the hub reports', async () => {
    const d = await f.device('gw-1');
    const j = await getWithHost(f, `/${f.orgId}/controller/v1/${d.id}`, 'evil.example', d.key);
    const href = link(j, 'configData');
    assert.ok(href, JSON.stringify(j));
    assert.ok(href.startsWith(`${f.t.url}/${f.orgId}/controller/v1/${d.id}`), href);
    assert.doesNotMatch(JSON.stringify(j), /evil\.example/);
  });

  it('with --public-url, links point there', async () => {
    const d = await g.device('gw-2');
    const j = await getWithHost(g, `/${g.orgId}/controller/v1/${d.id}`, 'evil.example', d.key);
    assert.equal(
      link(j, 'configData'),
      `https://updates.example.com:9443/${g.orgId}/controller/v1/${d.id}/configData`,
    );
  });

  it('refuses a public URL that is not an https origin', async () => {
    for (const bad of ['http://hub.example.com', 'https://hub.example.com/path', 'not a url']) {
      await assert.rejects(startTestHub(['--public-url', bad]), /--public-url/);
    }
  });
});
