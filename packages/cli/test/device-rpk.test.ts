/**
 * `bulwark device rpk set ID --public-key FILE` and `bulwark device rpk remove ID` against a real
 * hub process (RFC 7250 raw public keys; decision 0041): the pin's fingerprint, refusals, removal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, resolveConnection } from '@bulwark/cli';
import type { BulwarkClient } from '@bulwark/sdk';
import { startHub, type ManagedHub } from './management-hub.js';

describe('bulwark device rpk', () => {
  let hub: ManagedHub;
  let api: BulwarkClient;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-rpk-'));

  before(async () => {
    hub = await startHub();
    api = connect(resolveConnection({}, hub.env, process.cwd()));
  });
  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('set pins the key (its SHA-256 fingerprint), remove unpins it; usage errors before a request', async () => {
    const device = await api.devices.create({ name: 'cli-rpk', type: 'nrf52' });
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const file = join(dir, 'node.pub.pem');
    writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const fingerprint = createHash('sha256').update(der).digest('hex');

    const set = await hub.run(['device', 'rpk', 'set', device.id, '--public-key', file]);
    assert.equal(set.code, 0, set.stderr);
    assert.ok(set.stdout.includes(fingerprint), set.stdout);

    const other = await api.devices.create({ name: 'cli-rpk-2', type: 'nrf52' });
    const taken = await hub.run(['device', 'rpk', 'set', other.id, '--public-key', file]);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /pinned to another device/);

    const missing = await hub.run(['device', 'rpk', 'set', device.id]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--public-key FILE is required/);

    const removed = await hub.run(['device', 'rpk', 'remove', device.id]);
    assert.equal(removed.code, 0, removed.stderr);
    const again = await hub.run(['device', 'rpk', 'remove', device.id]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /no pinned raw public key/);
  });
});
