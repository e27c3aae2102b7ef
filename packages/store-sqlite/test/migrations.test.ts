import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { AUTO_UPGRADE_DEFAULTS } from '@bulwark/core';
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
    // No gaps: a database migrated past a missing number would never run it once it lands.
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

  it('migrating a version-1 database with data to the latest version keeps the data', async () => {
    const path = join(dir, 'from-v1.db');
    const org = { id: '01900000-0000-7000-8000-0000000000a1', name: 'Acme', createdAt: 1 };
    const deviceId = '01900000-0000-7000-8000-0000000000a2';
    // A database as a version-1 hub left it, written with version 1's own DDL.
    const v1 = new BetterSqlite3(path);
    v1.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    v1.exec(MIGRATIONS[0]?.up ?? '');
    v1.prepare("INSERT INTO schema_migrations VALUES (1, 'initial', 0)").run();
    v1.prepare('INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)').run(
      org.id,
      org.name,
      org.createdAt,
    );
    v1.prepare(
      `INSERT INTO devices (id, org_id, name, type, tags, mode, state, created_at, updated_at)
       VALUES (?, ?, 'pump-1', 'pump', '["roof"]', 'autonomous', 'active', 2, 3)`,
    ).run(deviceId, org.id);
    v1.prepare("INSERT INTO system_kv (key, value) VALUES ('k', 'v')").run();
    // An audit chain of one row, sealed as a hub before keying did (plain SHA-256).
    v1.prepare(
      `INSERT INTO audit_events (seq, id, at, actor_type, action, result, prev_hash, hash)
       VALUES (1, ?, 5, 'system', 'boot', 'success', ?, ?)`,
    ).run(org.id, '0'.repeat(64), 'a'.repeat(64));
    v1.prepare('UPDATE audit_head SET seq = 1, hash = ? WHERE id = 1').run('a'.repeat(64));
    v1.close();

    const storage = await openSqliteStorage({ path });
    try {
      assert.equal(storage.schemaVersion, LATEST);
      assert.deepEqual(await storage.organizations.get(org.id), org);
      assert.equal((await storage.devices.get(org.id, deviceId))?.name, 'pump-1');
      assert.deepEqual((await storage.devices.get(org.id, deviceId))?.tags, ['roof']);
      assert.equal(await storage.system.get('k'), 'v');
      // The new tables work against the old rows.
      const channel = {
        id: '01900000-0000-7000-8000-0000000000a3',
        orgId: org.id,
        name: 'telemetry',
        persisted: true,
        retentionDays: null,
        contentType: null,
        createdAt: 4,
      };
      await storage.channels.create(channel);
      assert.deepEqual(await storage.channels.get(org.id, channel.id), channel);
      // The chain written before migration 9 stays as it was; keying starts with the next row.
      assert.deepEqual(await storage.audit.head(), {
        seq: 1,
        hash: 'a'.repeat(64),
        keyedFrom: 2,
        mac: null,
      });
    } finally {
      await storage.close();
    }
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

  it('a policy set before the auto-upgrade gate migration gets the default limits, awake', async () => {
    // The steps before that migration (whatever its number), run as the hub then ran them.
    const gate = MIGRATIONS.find((m) => m.name === 'auto-upgrade-gate');
    assert.ok(gate);
    const path = join(dir, 'before-gate.db');
    const org = '01900000-0000-7000-8000-0000000000b1';
    const artifact = '01900000-0000-7000-8000-0000000000b2';
    const old = new BetterSqlite3(path);
    old.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    for (const m of MIGRATIONS.filter((m) => m.version < gate.version)) {
      old.exec(m.up);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    old.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'o', 1)").run(org);
    old
      .prepare(
        `INSERT INTO firmware_artifacts (id, org_id, name, types_json, hardware_json, version,
           release_counter, length, sha256, metadata_json, state, blob_key, created_by, created_at)
         VALUES (?, ?, 'gw.img', '["gateway"]', '[]', '2.0.0', 2, 10, ?, '{}', 'ready', 'k', 'u', 1)`,
      )
      .run(artifact, org, 'c'.repeat(64));
    old
      .prepare(
        `INSERT INTO firmware_policies (org_id, device_type, artifact_id, set_by, set_at)
         VALUES (?, 'gateway', ?, 'u', 42)`,
      )
      .run(org, artifact);
    old.close();

    const storage = await openSqliteStorage({ path });
    try {
      assert.deepEqual(await storage.firmwarePolicies.get(org, 'gateway'), {
        orgId: org,
        deviceType: 'gateway',
        artifactId: artifact,
        setBy: 'u',
        setAt: 42,
        ...AUTO_UPGRADE_DEFAULTS,
        state: 'active',
        pauseReason: null,
        pauseDetail: null,
        baseline: { failures: 0, finished: 0 },
        updatedAt: 42,
      });
      const awake = await storage.firmwarePolicies.listAwake(10);
      assert.deepEqual(
        awake.map((p) => [p.deviceType, p.wake.backlog]),
        [['gateway', true]],
      );
    } finally {
      await storage.close();
    }
  });

  it('mitigations recorded before source blocks keep their rows; a block has no device', async () => {
    const step = MIGRATIONS.find((m) => m.name === 'mitigation-source-blocks');
    assert.ok(step);
    const path = join(dir, 'before-blocks.db');
    const org = '01900000-0000-7000-8000-0000000000c1';
    const device = '01900000-0000-7000-8000-0000000000c2';
    const old = new BetterSqlite3(path);
    old.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    for (const m of MIGRATIONS.filter((m) => m.version < step.version)) {
      old.exec(m.up);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    old.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'o', 1)").run(org);
    old
      .prepare(
        `INSERT INTO devices (id, org_id, name, type, tags, mode, state, created_at, updated_at)
         VALUES (?, ?, 'd', 't', '[]', 'controlled', 'active', 1, 1)`,
      )
      .run(device, org);
    old
      .prepare(
        `INSERT INTO mitigations (id, org_id, device_id, actor, action, params, state, summary, at)
         VALUES ('01900000-0000-7000-8000-0000000000c3', ?, ?, 'user:u', 'quarantine', '{}',
           'applied', '[]', 5)`,
      )
      .run(org, device);
    old.close();

    const storage = await openSqliteStorage({ path });
    try {
      const kept = await storage.mitigations.get(org, '01900000-0000-7000-8000-0000000000c3');
      assert.ok(kept);
      assert.equal(kept.deviceId, device);
      assert.equal(kept.action, 'quarantine');
      await storage.mitigations.record({
        ...kept,
        id: '01900000-0000-7000-8000-0000000000c4',
        deviceId: null,
        action: 'block_source',
        params: { source: '192.0.2.1', durationSeconds: 60 },
        previous: { source: '192.0.2.1', until: 60_005, hubWide: true },
      });
      assert.deepEqual(
        (await storage.mitigations.listSourceBlocks(0)).map((m) => m.deviceId),
        [null],
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
