/**
 * `bulwark detect …` against a real hub process (decision 0034): the rules table, one rule shown
 * and tuned, a device's baselines, and usage errors for bad input.
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, resolveConnection } from '@bulwark/cli';
import { startHub, type ManagedHub } from './management-hub.js';

interface Rule {
  id: string;
  settings: { enabled: boolean; threshold: number | null; windowSeconds: number };
  defaults: { threshold: number | null };
  updatedAt: string | null;
}

describe('bulwark detect against a real hub', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  before(async () => {
    hub = await startHub();
  });
  after(() => hub?.close());

  test('rules lists the seven default rules; rule shows and tunes one', async () => {
    const list = await hub.json<{ items: Rule[]; nextCursor: null }>(['detect', 'rules']);
    assert.equal(list.items.length, 7);
    assert.equal(list.nextCursor, null);
    const table = await hub.run(['detect', 'rules']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /RULE\s+ENABLED\s+KIND/);
    assert.match(table.stdout, /auth_bruteforce\s+yes\s+threshold\s+high/);
    const shown = await hub.run(['detect', 'rule', 'message_flood']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /threshold\s+6000/);
    assert.match(shown.stdout, /changed\s+never/);
    const tuned = await hub.json<Rule>([
      'detect',
      'rule',
      'message_flood',
      '--threshold',
      '3000',
      '--window',
      '120',
      '--disable',
    ]);
    assert.deepEqual(
      [tuned.settings.threshold, tuned.settings.windowSeconds, tuned.settings.enabled],
      [3000, 120, false],
    );
    assert.equal(tuned.defaults.threshold, 6000);
    const again = await hub.run(['detect', 'rule', 'message_flood']);
    assert.match(again.stdout, /threshold\s+3000 \(default 6000\)/);
  });

  test('bad input is a usage or API error and changes nothing', async () => {
    const unknown = await hub.run(['detect', 'rule', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown rule nope/);
    const both = await hub.run(['detect', 'rule', 'connection_churn', '--enable', '--disable']);
    assert.equal(both.code, 2);
    const notNumber = await hub.run(['detect', 'rule', 'connection_churn', '--threshold', 'lots']);
    assert.equal(notNumber.code, 2);
    const notApplicable = await hub.run(['detect', 'rule', 'connection_churn', '--k', '3']);
    assert.notEqual(notApplicable.code, 0);
    assert.match(notApplicable.stderr, /has no setting k/);
    const rule = await hub.json<Rule>(['detect', 'rule', 'connection_churn']);
    assert.equal(rule.updatedAt, null);
  });

  test("baseline shows a device's counters and bands", async () => {
    const api = connect(resolveConnection({}, hub.env, process.cwd()));
    const created = await api.devices.create({ name: 'watched', type: 'meter' });
    const text = await hub.run(['detect', 'baseline', 'watched']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /group \(type\)\s+meter/);
    assert.match(text.stdout, /message_flood\s+messages_in/);
    assert.match(text.stdout, /No rule has fired for it/);
    const json = await hub.json<{ deviceId: string; metrics: unknown[] }>([
      'detect',
      'baseline',
      created.id,
    ]);
    assert.equal(json.deviceId, created.id);
    assert.equal(json.metrics.length, 6);
  });
});
