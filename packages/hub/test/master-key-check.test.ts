/**
 * Every node of a cluster must hold the cluster's master key (decision 0021): the database keeps
 * a check value of it, and a node started with another key refuses with a precise message and
 * changes nothing — not the database, not its own data dir (a key file it just made is removed).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { MASTER_KEY_CHECK, masterKeyCheckValue } from '../src/master-key.js';
import { openLocal } from '../src/commands/local-context.js';
import { loadConfig } from '../src/config.js';
import { startTestHub, type TestHub } from './helpers.js';

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

const tempDir = () => mkdtempSync(join(tmpdir(), 'bulwark-mk-'));
/** A key file of 32 random bytes, mode 0600. */
function otherKeyFile(dir: string): string {
  const path = join(dir, 'other.key');
  writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return path;
}
const MISMATCH = /the master key in .* is not the key of the cluster's database/;

describe('the master key is checked against the cluster’s', () => {
  const dirs: string[] = [];
  const hubs: TestHub[] = [];
  after(async () => {
    for (const h of hubs.reverse()) await h.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('one node on SQLite: restarted with another key, it refuses and the right key still works', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const first = await startTestHub([], { dir });
    const keyFile = join(dir, 'master.key');
    const right = readFileSync(keyFile, 'utf8');
    assert.equal(
      await first.hub.storage.system.get(MASTER_KEY_CHECK),
      masterKeyCheckValue(Buffer.from(right.trim(), 'hex')),
    );
    await first.close();
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    await assert.rejects(startTestHub([], { dir }), (err: Error) => {
      assert.equal(err.name, 'MasterKeyMismatchError');
      assert.match(err.message, MISMATCH);
      assert.match(err.message, /check value differs/);
      assert.match(err.message, /nothing changed/);
      return true;
    });
    assert.equal(existsSync(join(dir, 'runtime.json')), false);
    // The local commands (bulwark admin …) refuse the same way.
    await assert.rejects(openLocal(loadConfig(['--data-dir', dir], {})), {
      name: 'MasterKeyMismatchError',
    });
    writeFileSync(keyFile, right, { mode: 0o600 });
    const local = await openLocal(loadConfig(['--data-dir', dir], {}));
    await local.close();
    const again = await startTestHub([], { dir });
    hubs.push(again);
  });

  it(
    'a second node on PostgreSQL with its own new key refuses and leaves no key file behind',
    {
      skip,
    },
    async () => {
      const shared = ['--database', schemas.url, '--database-schema', schemas.next()];
      const a = await startTestHub(shared);
      hubs.push(a);
      const check = await a.hub.storage.system.get(MASTER_KEY_CHECK);
      assert.ok(check?.startsWith('v1:'));
      const dir = tempDir();
      dirs.push(dir);
      await assert.rejects(startTestHub(shared, { dir }), { name: 'MasterKeyMismatchError' });
      assert.equal(
        existsSync(join(dir, 'master.key')),
        false,
        'the key made by this start is gone',
      );
      assert.equal(existsSync(join(dir, 'runtime.json')), false);
      // An operator's own (wrong) key file is refused too, and kept: it is not ours to delete.
      const mine = otherKeyFile(dir);
      await assert.rejects(startTestHub([...shared, '--master-key-file', mine], { dir }), {
        name: 'MasterKeyMismatchError',
      });
      assert.ok(existsSync(mine));
      assert.equal(await a.hub.storage.system.get(MASTER_KEY_CHECK), check, 'unchanged');
    },
  );

  it(
    'a database from before the check value: a wrong key is caught by the hub CA key',
    {
      skip,
    },
    async () => {
      const shared = ['--database', schemas.url, '--database-schema', schemas.next()];
      const a = await startTestHub(shared);
      hubs.push(a);
      const system = a.hub.storage.system;
      const check = await system.get(MASTER_KEY_CHECK);
      assert.ok(await system.compareAndSet(MASTER_KEY_CHECK, check, undefined));
      const dir = tempDir();
      dirs.push(dir);
      await assert.rejects(
        startTestHub([...shared, '--master-key-file', otherKeyFile(dir)], { dir }),
        (err: Error) => {
          assert.match(err.message, MISMATCH);
          assert.match(err.message, /does not open the hub CA key/);
          return true;
        },
      );
      assert.equal(await system.get(MASTER_KEY_CHECK), undefined, 'nothing recorded');
      const b = await startTestHub([...shared, '--master-key-file', join(a.dir, 'master.key')]);
      hubs.push(b);
      assert.equal(await system.get(MASTER_KEY_CHECK), check, 'the right key records it again');
    },
  );
});
