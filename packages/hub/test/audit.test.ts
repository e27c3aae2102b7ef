import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { auditHash, type AuditEvent } from '@bulwark/core';
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

/**
 * SQL that rewrites `rows` (content and hashes) and moves the head to the last of them — or only
 * sets keyed_from / clears the MAC with `moveHead: false` — as a database writer could.
 */
function rewriteSql(
  rows: readonly AuditEvent[],
  head: { keyedFrom?: number; mac?: null; moveHead?: boolean } = {},
) {
  const q = (v: string | null) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);
  const last = rows[rows.length - 1]!;
  return [
    ...rows.map(
      (r) =>
        `UPDATE audit_events SET source = ${q(r.source)}, detail = ${q(r.detail)}, prev_hash = '${r.prevHash}', hash = '${r.hash}' WHERE seq = ${r.seq};`,
    ),
    `UPDATE audit_head SET id = 1` +
      (head.moveHead === false ? '' : `, seq = ${last.seq}, hash = '${last.hash}'`) +
      (head.keyedFrom !== undefined ? `, keyed_from = ${head.keyedFrom}` : '') +
      (head.mac === null ? ', mac = NULL' : '') +
      ' WHERE id = 1;',
  ].join('\n');
}

/**
 * The chain from row `from` on, with row `edit` (default `from`) edited and every hash from `from`
 * on recomputed with plain SHA-256.
 */
async function forgedFrom(t: TestHub, from: number, edit = from): Promise<AuditEvent[]> {
  const all = await t.hub.storage.audit.scan(0, 10_000);
  let prev = all[from - 2]?.hash ?? '0'.repeat(64);
  return all.slice(from - 1).map((row, i) => {
    const { hash: _old, ...rest } = row;
    const edited = {
      ...rest,
      prevHash: prev,
      ...(from + i === edit ? { source: '10.6.6.6' } : {}),
    };
    const forged = { ...edited, hash: auditHash(edited) };
    prev = forged.hash;
    return forged;
  });
}

describe('audit log: the chain is keyed with the master key (decision 0016)', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let db: string;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    db = join(t.dir, 'bulwark.db');
    for (let i = 0; i < 5; i++) await s.api.devices.create({ name: `keyed-${i}`, type: 'x' });
  });
  after(() => t.close());

  it('a row rewritten with the whole later chain and the head recomputed consistently (plain SHA-256) is named', async () => {
    const before = await t.hub.services.audit.verify();
    assert.ok(before.ok && before.keyedFrom === 1 && before.headSeq >= 6, JSON.stringify(before));
    const saved = await t.hub.storage.audit.scan(0, 10_000);
    const savedHead = (await t.hub.storage.audit.head())!;
    const forged = await forgedFrom(t, 3);
    // Before keying this rewrite was undetectable: every link and the head agree.
    execFileSync('sqlite3', [db, rewriteSql(forged)]);
    let v = await t.hub.services.audit.verify();
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.seq, 3);
    assert.match(!v.ok ? v.reason : '', /row 3 was edited: .*keyed hash \(HMAC\)/);
    // …also when the forger passes rows 1-3 off as written before keying (keyed_from 4): the
    // first keyed row no longer follows the rewritten row 3
    execFileSync('sqlite3', [db, rewriteSql(saved)]);
    const prefix = (await forgedFrom(t, 1, 3)).slice(0, 3);
    execFileSync('sqlite3', [db, rewriteSql(prefix, { keyedFrom: 4, moveHead: false })]);
    v = await t.hub.services.audit.verify();
    assert.equal(!v.ok && v.seq, 4);
    assert.match(!v.ok ? v.reason : '', /row 4 does not follow row 3/);
    // …and cutting rows off the end, head moved back consistently: the head MAC refuses it
    execFileSync('sqlite3', [db, rewriteSql(saved.slice(0, -1), { keyedFrom: 1 })]);
    execFileSync('sqlite3', [db, `DELETE FROM audit_events WHERE seq = ${savedHead.seq}`]);
    v = await t.hub.services.audit.verify();
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /head does not carry a valid MAC/);
  });
});

describe('audit log: a chain written before keying still verifies, and is keyed from then on', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let db: string;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    db = join(t.dir, 'bulwark.db');
  });
  after(() => t.close());

  it('old rows keep plain SHA-256 (migration 9 keys from the next row); new rows are keyed; a forged old row is still named', async () => {
    // As an older hub left it: every row sealed with plain SHA-256, then migration 9 set
    // keyed_from to the row after its head and left the MAC empty.
    const all = await t.hub.storage.audit.scan(0, 10_000);
    let prev = '0'.repeat(64);
    const legacy = all.map((row) => {
      const { hash: _h, ...rest } = row;
      const r = { ...rest, prevHash: prev };
      prev = auditHash(r);
      return { ...r, hash: prev };
    });
    const n = legacy.length;
    execFileSync('sqlite3', [db, rewriteSql(legacy, { keyedFrom: n + 1, mac: null })]);
    let v = await t.hub.services.audit.verify();
    assert.deepEqual(v, { ok: true, count: n, headSeq: n, keyedFrom: n + 1 });
    // the hub appends keyed rows after them
    await s.api.devices.create({ name: 'after-upgrade', type: 'x' });
    v = await t.hub.services.audit.verify();
    assert.ok(v.ok && v.keyedFrom === n + 1 && v.headSeq > n, JSON.stringify(v));
    // rewriting an old row and recomputing the old part consistently breaks at the first keyed row
    const forged = (await forgedFrom(t, 2)).filter((r) => r.seq <= n);
    execFileSync('sqlite3', [
      db,
      rewriteSql(forged).replace(/UPDATE audit_head[^;]*;/, ''), // the head stays on the keyed end
    ]);
    v = await t.hub.services.audit.verify();
    assert.equal(!v.ok && v.seq, n + 1);
    assert.match(!v.ok ? v.reason : '', /does not follow row/);
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
