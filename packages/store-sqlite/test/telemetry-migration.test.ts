import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS, openSqliteStorage } from '@bulwark/store-sqlite';

const ORG = '01900000-0000-7000-8000-0000000000b1';
const A = '01900000-0000-7000-8000-0000000000b2';
const B = '01900000-0000-7000-8000-0000000000b3';
const T0 = 1_735_689_600_000;

/** A database as a version-12 hub left it, with telemetry in the text-keyed tables. */
function version12(path: string): void {
  const db = new BetterSqlite3(path);
  db.exec(`CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  for (const m of MIGRATIONS.filter((m) => m.version <= 12)) {
    db.exec(m.up);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
  }
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'Acme', 1)").run(ORG);
  for (const [id, name] of [
    [A, 'a'],
    [B, 'b'],
  ])
    db.prepare(
      'INSERT INTO channels (id, org_id, name, persisted, created_at) VALUES (?, ?, ?, 1, 1)',
    ).run(id, ORG, name);
  const msg = db.prepare(
    `INSERT INTO messages VALUES (?, ?, ?, '', 'device', 'd1', 'mqtt', 'application/senml+json',
       ?, ?, ?, 'mqtt')`,
  );
  const val = db.prepare(
    `INSERT INTO senml_values (message_id, idx, org_id, channel_id, name, t, v, u, received_at)
     VALUES (?, 0, ?, ?, 'temp', ?, ?, 'Cel', ?)`,
  );
  // Three messages on A (inserted out of time order), one on B.
  for (const [i, channel, at, v] of [
    [3, A, T0 + 2, 23],
    [1, A, T0, 21],
    [2, A, T0 + 1, 22],
    [4, B, T0, 40],
  ] as const) {
    const id = `01900000-0000-7000-8000-00000000010${i}`;
    const records = [{ n: 'temp', u: 'Cel', v, t: at / 1000 }];
    msg.run(id, ORG, channel, at, Buffer.from([i]), JSON.stringify(records));
    val.run(id, ORG, channel, at / 1000, v, at);
  }
  db.close();
}

describe('SQLite migrations 14 and 24 (telemetry keyed by integers, values by series)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sqlite-telemetry-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('moves messages and values to the new tables, in order, per channel', async () => {
    const path = join(dir, 'v12.db');
    version12(path);
    const storage = await openSqliteStorage({ path });
    try {
      const page = await storage.messages.query(ORG, A, {}, { limit: 10 });
      assert.deepEqual(
        page.items.map((e) => [e.channelId, e.receivedAt, e.senml?.[0]?.v, e.payload[0]]),
        [
          [A, T0, 21, 1],
          [A, T0 + 1, 22, 2],
          [A, T0 + 2, 23, 3],
        ],
      );
      const onB = await storage.messages.query(ORG, B, {}, { limit: 10 });
      assert.deepEqual(
        onB.items.map((e) => e.senml?.[0]?.v),
        [40],
      );
      const sum = async (channel: string, fn: 'count' | 'last') =>
        storage.messages.aggregate(
          ORG,
          channel,
          { senmlName: 'temp', from: T0, to: T0 + 2 },
          60_000,
          fn,
        );
      assert.deepEqual(await sum(A, 'count'), [{ start: T0, value: 3, count: 3 }]);
      assert.deepEqual(await sum(A, 'last'), [{ start: T0, value: 23, count: 3 }]);
      assert.deepEqual(await sum(B, 'count'), [{ start: T0, value: 1, count: 1 }]);
      // Migration 24: one series per (channel, name); a new record of a migrated series joins it.
      await storage.messages.appendBatch([
        {
          id: '01900000-0000-7000-8000-000000000105',
          orgId: ORG,
          channelId: A,
          subtopic: '',
          publisher: { type: 'device', id: 'd1' },
          protocol: 'mqtt',
          contentType: 'application/senml+json',
          receivedAt: T0 + 3,
          payload: new Uint8Array([5]),
          senml: [{ n: 'temp', u: 'Cel', v: 24, t: (T0 + 3) / 1000 }],
          origin: 'mqtt',
        },
      ]);
      assert.deepEqual(
        (
          await storage.messages.aggregate(
            ORG,
            A,
            { senmlName: 'temp', from: T0, to: T0 + 3 },
            60_000,
            'count',
          )
        )[0]?.count,
        4,
      );
      assert.deepEqual(
        (await storage.messages.query(ORG, A, { senmlName: 'temp' }, { limit: 10 })).items.length,
        4,
      );
      assert.deepEqual(
        (await storage.messages.query(ORG, A, { senmlName: 'hum' }, { limit: 10 })).items,
        [],
      );
      // The old tables are gone; deleting a channel removes its moved telemetry.
      await storage.channels.delete(ORG, A);
      assert.deepEqual((await storage.messages.query(ORG, A, {}, { limit: 10 })).items, []);
      assert.equal((await storage.messages.query(ORG, B, {}, { limit: 10 })).items.length, 1);
    } finally {
      await storage.close();
    }
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      const tables = db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('messages', 'senml_values')",
        )
        .all();
      assert.deepEqual(tables, []);
      assert.equal(db.prepare('SELECT count(*) FROM telemetry_values').pluck().get(), 1);
      // Series rows stay (keys are never reused): A's and B's 'temp'.
      assert.deepEqual(db.prepare('SELECT name FROM telemetry_series ORDER BY key').pluck().all(), [
        'temp',
        'temp',
      ]);
    } finally {
      db.close();
    }
  });
});
