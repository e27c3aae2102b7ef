/**
 * `bulwark rules …` against a real hub process (decision 0035): create from a file, list, show,
 * test against a SenML pack (stored and draft), disable, enable, delete, and the precise refusal
 * of a bad rule.
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type ManagedHub } from './management-hub.js';

interface Rule {
  id: string;
  name: string;
  enabled: boolean;
}

describe('bulwark rules against a real hub', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  let dir: string;
  const file = (name: string, v: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  };
  const rule = {
    name: 'too hot',
    record: 'temp',
    condition: { op: 'gt', value: 80 },
    forSeconds: 60,
    actions: [{ type: 'alert' }, { type: 'twin', path: 'cooling.mode', value: 'max' }],
  };
  before(async () => {
    hub = await startHub();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-rules-'));
  });
  after(async () => {
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create, list, show, test, disable, enable, delete', async () => {
    const created = await hub.json<Rule>(['rules', 'create', '--file', file('rule.json', rule)]);
    assert.equal(created.name, 'too hot');
    const list = await hub.json<{ items: Rule[]; nextCursor: string | null }>(['rules', 'list']);
    assert.deepEqual(
      list.items.map((r) => r.id),
      [created.id],
    );
    assert.equal(list.nextCursor, null);
    const table = await hub.run(['rules', 'list']);
    assert.match(
      table.stdout,
      /too hot\s+yes\s+temp > 80 for 60s\s+alert, twin cooling.mode="max"/,
    );
    const shown = await hub.run(['rules', 'show', created.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /scope\s+every device/);

    const hot = file('hot.json', [
      { bt: 1000, n: 'temp', v: 85 },
      { n: 'temp', t: 61, v: 90 },
    ]);
    const fires = await hub.run(['rules', 'test', created.id, '--senml', hot]);
    assert.equal(fires.code, 0, fires.stderr);
    assert.match(fires.stdout, /FIRES/);
    assert.match(fires.stdout, /the rule would fire/);
    const brief = file('brief.json', [
      { bt: 1000, n: 'temp', v: 85 },
      { n: 'temp', t: 30, v: 90 },
    ]);
    const not = await hub.run(['rules', 'test', created.id, '--senml', brief]);
    assert.equal(not.code, 1, 'exit 1 when it would not fire');
    assert.match(not.stdout, /would not fire/);
    const draft = await hub.run([
      'rules',
      'test',
      '--rule',
      file('draft.json', { ...rule, forSeconds: 0 }),
      '--senml',
      brief,
    ]);
    assert.equal(draft.code, 0, draft.stderr);

    assert.equal((await hub.json<Rule>(['rules', 'disable', created.id])).enabled, false);
    assert.equal((await hub.json<Rule>(['rules', 'enable', created.id])).enabled, true);
    const del = await hub.run(['rules', 'delete', created.id]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await hub.json<{ items: Rule[] }>(['rules', 'list'])).items.length, 0);
  });

  test('a bad rule is refused with the field named, and usage errors are clear', async () => {
    const bad = await hub.run([
      'rules',
      'create',
      '--file',
      file('bad.json', { ...rule, actions: [{ type: 'twin', path: 'tickets.x', value: 1 }] }),
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /actions\[0\]\.path: the tickets section is not writable by rules/);
    const noFile = await hub.run(['rules', 'create']);
    assert.notEqual(noFile.code, 0);
    assert.match(noFile.stderr, /--file/);
    const both = await hub.run(['rules', 'test', '--senml', file('p.json', [{ n: 'temp', v: 1 }])]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /rule ID or --rule FILE/);
  });
});
