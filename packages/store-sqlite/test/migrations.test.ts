import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS, openSqliteStorage } from '@bulwark/store-sqlite';

const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));

describe('SQLite migrations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sqlite-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const versions = (path: string): number[] => {
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      return (
        db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{
          version: number;
        }>
      ).map((r) => r.version);
    } finally {
      db.close();
    }
  };

  it('versions are unique and ascending from 1', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
  });

  it('run from an empty database, recording every version, in WAL mode with foreign keys', async () => {
    const path = join(dir, 'fresh.db');
    const storage = await openSqliteStorage({ path });
    assert.equal(storage.schemaVersion, LATEST);
    assert.equal(await storage.ping(), true);
    await storage.close();
    assert.deepEqual(
      versions(path),
      MIGRATIONS.map((m) => m.version),
    );
    const db = new BetterSqlite3(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('running again is a no-op and keeps the data', async () => {
    const path = join(dir, 'again.db');
    const first = await openSqliteStorage({ path });
    await first.system.put('k', 'v');
    await first.close();
    const second = await openSqliteStorage({ path });
    assert.equal(second.schemaVersion, LATEST);
    assert.equal(await second.system.get('k'), 'v');
    await second.close();
    assert.deepEqual(
      versions(path),
      MIGRATIONS.map((m) => m.version),
    );
  });

  it('enforces foreign keys (a device needs its organization)', async () => {
    const storage = await openSqliteStorage({ path: ':memory:' });
    try {
      await assert.rejects(
        storage.devices.create({
          id: '01900000-0000-7000-8000-000000000001',
          orgId: '01900000-0000-7000-8000-000000000002',
          name: 'orphan',
          type: 't',
          firmwareType: null,
          firmwareVersion: null,
          tags: [],
          mode: 'autonomous',
          state: 'provisioned',
          locationId: null,
          lastSeenAt: null,
          createdAt: 0,
          updatedAt: 0,
        }),
        /FOREIGN KEY/,
      );
    } finally {
      await storage.close();
    }
  });

  it('a database at a newer schema version is refused with both versions named', async () => {
    const path = join(dir, 'newer.db');
    await (await openSqliteStorage({ path })).close();
    const db = new BetterSqlite3(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      LATEST + 5,
      'from the future',
      Date.now(),
    );
    db.close();
    await assert.rejects(openSqliteStorage({ path }), {
      message: `database schema is at version ${LATEST + 5}, this hub only knows up to ${LATEST}; upgrade the hub`,
    });
  });
});
