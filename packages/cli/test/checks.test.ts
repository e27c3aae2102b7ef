/**
 * `bulwark checks …` against a real hub process (decision 0031): run, list with filters, show,
 * suppress and unsuppress, `--fail-on` for CI, and usage errors for bad input.
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, type ManagedHub } from './management-hub.js';

interface Finding {
  id: string;
  checkId: string;
  severity: string;
  state: string;
  suppressed: boolean;
  resources: { type: string; id: string }[];
}

describe('bulwark checks against a real hub', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  before(async () => {
    hub = await startHub();
  });
  after(() => hub?.close());

  test('run finds the local admin key (every permission, no expiry) and the owner without TOTP', async () => {
    const text = await hub.run(['checks', 'run']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /hub checks\s+yes/);
    assert.match(text.stdout, /new\s+[1-9]/);
    const list = await hub.json<{ items: Finding[]; nextCursor: string | null }>([
      'checks',
      'list',
      '--state',
      'open',
    ]);
    assert.equal(list.nextCursor, null);
    const admin = list.items.find((f) => f.checkId === 'api_key.admin');
    assert.equal(admin?.severity, 'high', 'the admin api-key holds every permission');
    assert.ok(list.items.some((f) => f.checkId === 'api_key.no_expiry'));
    assert.ok(list.items.some((f) => f.checkId === 'user.no_second_factor'));
    const high = await hub.json<{ items: Finding[] }>(['checks', 'list', '--severity', 'high']);
    assert.ok(high.items.length > 0 && high.items.every((f) => f.severity === 'high'));
    const shown = await hub.run(['checks', 'show', admin.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /holds every permission/);
    assert.match(shown.stdout, /suppressed\s+no/);
    const table = await hub.run(['checks', 'list']);
    assert.match(table.stdout, /SEVERITY\s+CHECK\s+STATE/);
  });

  test('--fail-on exits 1 while a finding that severe is open and unsuppressed', async () => {
    const failing = await hub.run(['checks', 'run', '--fail-on', 'high']);
    assert.equal(failing.code, 1);
    const { items } = await hub.json<{ items: Finding[] }>(['checks', 'list', '--state', 'open']);
    const ids = new Set(
      items.filter((f) => f.severity === 'high' || f.severity === 'critical').map((f) => f.checkId),
    );
    for (const check of ids) {
      const r = await hub.run([
        'checks',
        'suppress',
        check,
        '--reason',
        'accepted for the test',
        '--for',
        '1d',
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await hub.run(['checks', 'run', '--fail-on', 'high'])).code, 0);
    const after = await hub.json<{ items: Finding[] }>(['checks', 'list', '--severity', 'high']);
    assert.ok(
      after.items.every((f) => f.suppressed),
      'suppressed findings stay listed, marked',
    );
    const sups = await hub.json<{ items: { id: string }[] }>(['checks', 'suppressions']);
    assert.equal(sups.items.length, ids.size);
    for (const s of sups.items)
      assert.equal((await hub.run(['checks', 'unsuppress', s.id])).code, 0);
    assert.equal((await hub.run(['checks', 'run', '--fail-on', 'high'])).code, 1);
  });

  test('bad input is a usage error or the hub refusal, and changes nothing', async () => {
    const unknown = await hub.run([
      'checks',
      'suppress',
      'no.such',
      '--reason',
      'x y z',
      '--for',
      '1d',
    ]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown check no\.such/);
    const badFor = await hub.run([
      'checks',
      'suppress',
      'api_key.no_expiry',
      '--reason',
      'why not',
      '--for',
      'forever',
    ]);
    assert.notEqual(badFor.code, 0);
    assert.match(badFor.stderr, /--for forever/);
    const tooLong = await hub.run([
      'checks',
      'suppress',
      'api_key.no_expiry',
      '--reason',
      'why not',
      '--for',
      '400d',
    ]);
    assert.notEqual(tooLong.code, 0);
    assert.match(tooLong.stderr, /ttlSeconds|validation/i);
    const badSeverity = await hub.run(['checks', 'list', '--severity', 'dire']);
    assert.notEqual(badSeverity.code, 0);
    const missing = await hub.run(['checks', 'show', '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no finding|not found/i);
    assert.deepEqual((await hub.json<{ items: unknown[] }>(['checks', 'suppressions'])).items, []);
    const both = await hub.run([
      'firmware',
      'mark',
      '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e',
      '--withdrawn',
      '--vulnerable',
      '--reason',
      'CVE-1',
    ]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /exactly one of --withdrawn and --vulnerable/);
    const noArtifact = await hub.run([
      'firmware',
      'mark',
      '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e',
      '--vulnerable',
      '--reason',
      'CVE-2026-1',
    ]);
    assert.notEqual(noArtifact.code, 0);
    assert.match(noArtifact.stderr, /no firmware artifact/);
    assert.deepEqual((await hub.json<{ items: unknown[] }>(['firmware', 'advisories'])).items, []);
  });
});
