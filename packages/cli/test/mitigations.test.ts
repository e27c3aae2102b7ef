/**
 * `bulwark mitigate` and `bulwark mitigations …` against a real hub process (decision 0036): a
 * dry run says what it would do and changes nothing, a quarantine is recorded and reverted, a
 * desired setting is pushed and restored, policies are created from a file, listed and deleted,
 * and conflicting flags or a revert of a revocation are clear errors.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, resolveConnection } from '@bulwark/cli';
import type { BulwarkClient } from '@bulwark/sdk';
import { startHub, type ManagedHub } from './management-hub.js';

interface Mitigation {
  id: string;
  action: string;
  state: string;
  summary: string[];
  previous: Record<string, unknown> | null;
}

describe('bulwark mitigate / mitigations against a real hub', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  let api: BulwarkClient;
  let dev = '';

  before(async () => {
    hub = await startHub();
    api = connect(resolveConnection({}, hub.env, process.cwd()));
    dev = (await api.devices.create({ name: 'valve-1', type: 'valve' })).id;
  });
  after(() => hub?.close());

  test('mitigate --dry-run, --quarantine, mitigations list|show|revert', async () => {
    const dry = await hub.run(['mitigate', 'valve-1', '--quarantine', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /state\s+dry_run/);
    assert.match(dry.stdout, /would do:\n {2}set the device state provisioned → quarantined/);
    assert.equal((await api.devices.get(dev)).state, 'provisioned');

    const q = await hub.json<Mitigation>(['mitigate', dev, '--quarantine', '--reason', 'test']);
    assert.equal(q.state, 'applied');
    assert.equal((await api.devices.get(dev)).state, 'quarantined');
    const list = await hub.json<{ items: Mitigation[]; nextCursor: string | null }>([
      'mitigations',
      'list',
      '--device',
      dev,
    ]);
    assert.deepEqual(
      list.items.map((m) => m.state),
      ['applied', 'dry_run'],
    );
    assert.equal(list.nextCursor, null);
    const table = await hub.run(['mitigations', 'list', '--state', 'applied']);
    assert.match(table.stdout, /ID\s+ACTION\s+STATE/);
    assert.match(table.stdout, new RegExp(q.id));
    const shown = await hub.run(['mitigations', 'show', q.id]);
    assert.match(shown.stdout, /a revert restores: \{"state":"provisioned"\}/);
    const reverted = await hub.json<Mitigation>(['mitigations', 'revert', q.id]);
    assert.equal(reverted.state, 'reverted');
    assert.equal((await api.devices.get(dev)).state, 'provisioned');
    const again = await hub.run(['mitigations', 'revert', q.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already reverted/);
  });

  test('mitigate --set pushes desired values; revert restores them; --revoke cannot be reverted', async () => {
    await api.twins.patchDesired(dev, { net: { allow: ['a', 'b'] } });
    const m = await hub.json<Mitigation>(['mitigate', dev, '--set', 'net.allow=["a"]']);
    assert.deepEqual((await api.twins.get(dev)).desired.state, { net: { allow: ['a'] } });
    await hub.json(['mitigations', 'revert', m.id]);
    assert.deepEqual((await api.twins.get(dev)).desired.state, { net: { allow: ['a', 'b'] } });
    await api.devices.createKey(dev);
    const r = await hub.json<Mitigation>(['mitigate', dev, '--revoke']);
    assert.equal(r.state, 'applied');
    const refused = await hub.run(['mitigations', 'revert', r.id]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /revocation is final/);
  });

  test('usage errors: no action, two actions', async () => {
    const none = await hub.run(['mitigate', dev]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give exactly one of --quarantine/);
    const two = await hub.run(['mitigate', dev, '--quarantine', '--revoke']);
    assert.equal(two.code, 2);
  });

  test('mitigations policy create --file, list, delete', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-policy-'));
    const file = join(dir, 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'contain clones',
        kinds: ['cloned_certificate'],
        minSeverity: 'high',
        action: 'quarantine',
        dryRun: true,
      }),
    );
    const created = await hub.json<{ id: string; createdBy: string }>([
      'mitigations',
      'policy',
      'create',
      '--file',
      file,
    ]);
    assert.match(created.createdBy, /^api_key:/);
    const listed = await hub.json<{ items: { id: string }[] }>(['mitigations', 'policy', 'list']);
    assert.deepEqual(
      listed.items.map((p) => p.id),
      [created.id],
    );
    assert.match((await hub.run(['mitigations', 'policy', 'list'])).stdout, /contain clones/);
    writeFileSync(file, JSON.stringify({ name: 'bad', kinds: [], action: 'quarantine' }));
    const bad = await hub.run(['mitigations', 'policy', 'create', '--file', file]);
    assert.equal(bad.code, 1);
    const del = await hub.run(['mitigations', 'policy', 'delete', created.id]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await api.mitigations.policies.list()).length, 0);
  });

  test('mitigations block --source (dry run, any spelling), revert releases; a block_source policy from a file', async () => {
    const dry = await hub.run([
      'mitigations',
      'block',
      '--source',
      '::ffff:192.0.2.7',
      '--duration',
      '120',
      '--dry-run',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /source\s+192\.0\.2\.7/);
    assert.match(
      dry.stdout,
      /would do:\n {2}block new authentications from 192\.0\.2\.7 .* for 120 s/,
    );
    const b = await hub.json<Mitigation & { params: { source: string } }>([
      'mitigations',
      'block',
      '--source',
      '192.0.2.7',
      '--reason',
      'a scanner',
    ]);
    assert.equal(b.state, 'applied');
    assert.equal(b.params.source, '192.0.2.7');
    const table = await hub.run(['mitigations', 'list', '--state', 'applied']);
    assert.match(table.stdout, /block_source\s+applied\s+192\.0\.2\.7/);
    const released = await hub.json<Mitigation>(['mitigations', 'revert', b.id]);
    assert.equal(released.state, 'reverted');
    const loopback = await hub.run(['mitigations', 'block', '--source', '127.0.0.1']);
    assert.equal(loopback.code, 1);
    assert.match(loopback.stderr, /never blocked/);
    const none = await hub.run(['mitigations', 'block']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--alert ID .* or --source ADDRESS/);

    const dir = mkdtempSync(join(tmpdir(), 'bulwark-policy-'));
    const file = join(dir, 'block.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'block guessers',
        kinds: ['auth_bruteforce'],
        action: 'block_source',
        params: { durationSeconds: 900 },
      }),
    );
    const p = await hub.json<{ id: string; action: string }>([
      'mitigations',
      'policy',
      'create',
      '--file',
      file,
    ]);
    assert.equal(p.action, 'block_source');
    writeFileSync(
      file,
      JSON.stringify({ name: 'x', kinds: ['message_flood'], action: 'block_source' }),
    );
    const bad = await hub.run(['mitigations', 'policy', 'create', '--file', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /name one source address/);
    await api.mitigations.policies.delete(p.id);
  });
});
