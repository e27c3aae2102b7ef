import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { raw, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('audit log', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('records every mutating call with actor, action, target, source, time and result', async () => {
    const d = await s.api.devices.create({ name: 'audited', type: 'x' });
    await s.api.devices.list({});
    await raw(t, 'POST', '/auth/login', {
      email: 'owner@example.com',
      password: 'wrong password!!',
    });
    const events = (await s.api.audit.list({ limit: 100 })).items;
    const created = events.find((e) => e.action === 'createDevice');
    assert.ok(created);
    assert.equal(created.actorType, 'api_key');
    assert.equal(created.targetId, d.id);
    assert.equal(created.result, 'success');
    assert.equal(created.source, '127.0.0.1');
    assert.ok(Date.parse(created.at) > 0);
    assert.ok(!events.some((e) => e.action === 'listDevices'), 'reads are not audited');
    assert.ok(events.some((e) => e.action === 'completeSetup' && e.result === 'success'));
    assert.ok(events.some((e) => e.action === 'createApiKey'));
    const failed = events.find((e) => e.action === 'login' && e.result === 'failure');
    assert.ok(failed, 'a failed login is recorded');
    assert.equal(failed.detail?.['error'], 'invalid_credentials');
    assert.ok(!JSON.stringify(events).includes('wrong password'), 'no secrets in the audit log');
    // newest first, hash-chained
    assert.ok(events.every((e, i) => i === 0 || e.seq < events[i - 1]!.seq));
  });
  it('filters by action and paginates', async () => {
    const page = await s.api.audit.list({ action: 'createDevice', limit: 1 });
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0]!.action, 'createDevice');
  });
  it('verifies the chain, and names the first row edited or deleted behind the hub’s back', async () => {
    assert.equal((await t.hub.services.audit.verify()).ok, true);
    const db = join(t.dir, 'bulwark.db');
    execFileSync('sqlite3', [db, "UPDATE audit_events SET source = '10.9.9.9' WHERE seq = 2"]);
    let v = await t.hub.services.audit.verify();
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.seq, 2);
    assert.match(!v.ok ? v.reason : '', /edited/);
    execFileSync('sqlite3', [
      db,
      "UPDATE audit_events SET source = '127.0.0.1' WHERE seq = 2; DELETE FROM audit_events WHERE seq = 3",
    ]);
    v = await t.hub.services.audit.verify();
    assert.equal(!v.ok && v.seq, 4);
    assert.match(!v.ok ? v.reason : '', /row 3 is missing/);
  });
});

describe('OpenAPI document and health', () => {
  let t: TestHub;
  before(async () => (t = await startTestHub()));
  after(() => t.close());

  it('serves an OpenAPI 3.1 document with every operation and the problem schema', async () => {
    const r = await raw(t, 'GET', '/openapi.json');
    const doc = r.json as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string }>>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, '3.1.0');
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    for (const op of [
      'createDevice',
      'enroll',
      'renewCertificate',
      'listAudit',
      'getCrl',
      'completeSetup',
      'createApiKey',
    ])
      assert.ok(ops.includes(op), op);
    assert.ok(doc.paths['/api/v1/devices/{id}']);
    assert.ok(doc.components.schemas['Problem']);
  });
  it('answers /healthz and /readyz', async () => {
    const f = t.fetchWith();
    assert.equal((await f(`${t.url}/healthz`)).status, 200);
    const ready = await f(`${t.url}/readyz`);
    assert.equal(ready.status, 200);
  });
  it('answers unknown routes with a problem document', async () => {
    const r = await raw(t, 'GET', '/nope');
    assert.equal(r.status, 404);
    assert.equal(r.json['code'], 'route_not_found');
  });
  it('requires authentication on operator routes', async () => {
    const r = await raw(t, 'GET', '/devices');
    assert.equal(r.status, 401);
    assert.equal(r.json['code'], 'unauthenticated');
  });
});
