import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { AUTO_UPGRADE_DEFAULTS } from '@bulwark/core';
import { MIGRATIONS, openPostgresStorage } from '@bulwark/store-postgres';

const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));
const skip = await requirePostgres();
const schemas = withPostgresSchemas();

/** Runs one query in `schema` on a short-lived client. */
async function inSchema<R extends pg.QueryResultRow>(
  schema: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: schemas.url });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${schema}`);
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL migrations', { skip }, () => {
  it('versions are unique and ascending from 1', () => {
    // No gaps: a database migrated past a missing number would never run it once it lands.
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
  });

  it('run from an empty schema (created if missing), recording every version', async () => {
    const schema = schemas.next();
    const storage = await openPostgresStorage({ url: schemas.url, schema });
    assert.equal(storage.schemaVersion, LATEST);
    assert.equal(await storage.ping(), true);
    await storage.close();
    const rows = await inSchema<{ version: number }>(
      schema,
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
  });

  it('running again is a no-op and keeps the data', async () => {
    const schema = schemas.next();
    const first = await openPostgresStorage({ url: schemas.url, schema });
    await first.system.put('k', 'v');
    await first.close();
    const second = await openPostgresStorage({ url: schemas.url, schema });
    assert.equal(second.schemaVersion, LATEST);
    assert.equal(await second.system.get('k'), 'v');
    await second.close();
    const count = await inSchema<{ n: string }>(
      schema,
      'SELECT count(*) AS n FROM schema_migrations',
    );
    assert.equal(Number(count[0]?.n), MIGRATIONS.length);
  });

  it('migrating a version-1 schema with data to the latest version keeps the data', async () => {
    const schema = schemas.next();
    const org = { id: '01900000-0000-7000-8000-0000000000a1', name: 'Acme', createdAt: 1 };
    const deviceId = '01900000-0000-7000-8000-0000000000a2';
    // A schema as a version-1 hub left it, written with version 1's own DDL.
    const client = new pg.Client({ connectionString: schemas.url });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET search_path TO ${schema}`);
      await client.query(`CREATE TABLE schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
      await client.query(MIGRATIONS[0]?.up ?? '');
      await client.query("INSERT INTO schema_migrations VALUES (1, 'initial', 0)");
      await client.query('INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)', [
        org.id,
        org.name,
        org.createdAt,
      ]);
      await client.query(
        `INSERT INTO devices (id, org_id, name, type, tags, mode, state, created_at, updated_at)
         VALUES ($1, $2, 'pump-1', 'pump', '{roof}', 'autonomous', 'active', 2, 3)`,
        [deviceId, org.id],
      );
      await client.query("INSERT INTO system_kv (key, value) VALUES ('k', 'v')");
      // An audit chain of one row, sealed as a hub before keying did (plain SHA-256).
      await client.query(
        `INSERT INTO audit_events (seq, id, at, actor_type, action, result, prev_hash, hash)
         VALUES (1, $1, 5, 'system', 'boot', 'success', repeat('0', 64), repeat('a', 64))`,
        [org.id],
      );
      await client.query("UPDATE audit_head SET seq = 1, hash = repeat('a', 64) WHERE id = 1");
    } finally {
      await client.end();
    }

    const storage = await openPostgresStorage({ url: schemas.url, schema });
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
    const rows = await inSchema<{ version: number }>(
      schema,
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
  });

  it('hub processes starting together migrate once (advisory lock)', async () => {
    const schema = schemas.next();
    const opened = await Promise.all(
      Array.from({ length: 4 }, () => openPostgresStorage({ url: schemas.url, schema, max: 2 })),
    );
    for (const s of opened) {
      assert.equal(s.schemaVersion, LATEST);
      await s.close();
    }
    const count = await inSchema<{ n: string }>(
      schema,
      'SELECT count(*) AS n FROM schema_migrations',
    );
    assert.equal(Number(count[0]?.n), MIGRATIONS.length);
  });

  it('returns epoch-ms BIGINT columns as numbers', async () => {
    const schema = schemas.next();
    const storage = await openPostgresStorage({ url: schemas.url, schema });
    try {
      const org = {
        id: '01900000-0000-7000-8000-0000000000aa',
        name: 'o',
        createdAt: 1_735_689_600_123,
      };
      await storage.organizations.create(org);
      assert.deepEqual(await storage.organizations.get(org.id), org);
      assert.equal(typeof (await storage.organizations.count()), 'number');
      // pg's global parser is untouched: a plain client still returns int8 as a string.
      const raw = await inSchema<{ created_at: unknown }>(
        schema,
        'SELECT created_at FROM organizations',
      );
      assert.equal(raw[0]?.created_at, '1735689600123');
    } finally {
      await storage.close();
    }
  });

  it('a policy set before the auto-upgrade gate migration gets the default limits, awake', async () => {
    // The steps before that migration (whatever its number), run as the hub then ran them.
    const gate = MIGRATIONS.find((m) => m.name === 'auto-upgrade-gate');
    assert.ok(gate);
    const schema = schemas.next();
    const org = '01900000-0000-7000-8000-0000000000b1';
    const artifact = '01900000-0000-7000-8000-0000000000b2';
    const client = new pg.Client({ connectionString: schemas.url });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET search_path TO ${schema}`);
      await client.query(`CREATE TABLE schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
      for (const m of MIGRATIONS.filter((m) => m.version < gate.version)) {
        await client.query(m.up);
        await client.query('INSERT INTO schema_migrations VALUES ($1, $2, 0)', [m.version, m.name]);
      }
      await client.query("INSERT INTO organizations (id, name, created_at) VALUES ($1, 'o', 1)", [
        org,
      ]);
      await client.query(
        `INSERT INTO firmware_artifacts (id, org_id, name, types_json, hardware_json, version,
           release_counter, length, sha256, metadata_json, state, blob_key, created_by, created_at)
         VALUES ($1, $2, 'gw.img', '["gateway"]', '[]', '2.0.0', 2, 10, repeat('c', 64), '{}',
           'ready', 'k', 'u', 1)`,
        [artifact, org],
      );
      await client.query(
        `INSERT INTO firmware_policies (org_id, device_type, artifact_id, set_by, set_at)
         VALUES ($1, 'gateway', $2, 'u', 42)`,
        [org, artifact],
      );
    } finally {
      await client.end();
    }
    const storage = await openPostgresStorage({ url: schemas.url, schema });
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
      const awake = (await storage.firmwarePolicies.listAwake(100)).filter((p) => p.orgId === org);
      assert.deepEqual(
        awake.map((p) => [p.deviceType, p.wake.backlog]),
        [['gateway', true]],
      );
    } finally {
      await storage.close();
    }
  });

  it('a schema at a newer version is refused with both versions named', async () => {
    const schema = schemas.next();
    await (await openPostgresStorage({ url: schemas.url, schema })).close();
    await inSchema(
      schema,
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
      [LATEST + 5, 'from the future', Date.now()],
    );
    await assert.rejects(openPostgresStorage({ url: schemas.url, schema }), {
      message: `database schema is at version ${LATEST + 5}, this hub only knows up to ${LATEST}; upgrade the hub`,
    });
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    await assert.rejects(
      openPostgresStorage({ url: schemas.url, schema: 'bad"; DROP TABLE x; --' }),
      /invalid PostgreSQL schema name/,
    );
  });
});
