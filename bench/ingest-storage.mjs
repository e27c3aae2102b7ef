// What the hub stored, read back from its database after a cell of bench/ingest.mjs, and the
// durability setting it was stored at. SQLite is read through its own file (WAL: a reader sees every
// committed batch while the hub runs); PostgreSQL through a client on the run's schema.
import Database from 'better-sqlite3';
import pg from 'pg';
import { readPayload } from './ingest-codec.mjs';
import { Seen } from './ingest-sub.mjs';

/**
 * A reader of the `messages` rows of one channel and subtopic. `read(…, untilMs)` answers
 * { rows, inWindow (received at or before untilMs), seen, foreign }.
 */
export function storageReader(kind, where) {
  const tally = (rows, untilMs) => {
    const seen = new Seen();
    let n = 0;
    let inWindow = 0;
    let foreign = 0;
    for (const r of rows) {
      const p = readPayload(r.payload);
      if (p === null || !seen.add(p.pub, p.seq)) foreign++;
      else {
        n++;
        if (Number(r.received_at) <= untilMs) inWindow++;
      }
    }
    return { rows: n, inWindow, seen, foreign };
  };
  if (kind === 'sqlite') {
    // Telemetry keyed by integers since migration 14 (decision 0024).
    const rows = `FROM telemetry_messages m JOIN telemetry_channels c ON c.key = m.chan
      WHERE c.channel_id = ? AND m.subtopic = ?`;
    return {
      async count(channelId, subtopic) {
        const db = new Database(where.file, { readonly: true, fileMustExist: true });
        try {
          return db.prepare(`SELECT count(*) AS n ${rows}`).get(channelId, subtopic).n;
        } finally {
          db.close();
        }
      },
      async read(channelId, subtopic, untilMs) {
        const db = new Database(where.file, { readonly: true, fileMustExist: true });
        try {
          const q = db.prepare(`SELECT m.payload, m.received_at ${rows}`);
          return tally(q.iterate(channelId, subtopic), untilMs);
        } finally {
          db.close();
        }
      },
    };
  }
  const query = async (sql, args) => {
    const c = new pg.Client({ connectionString: where.url });
    await c.connect();
    try {
      await c.query(`SET search_path TO ${where.schema}`);
      return (await c.query(sql, args)).rows;
    } finally {
      await c.end();
    }
  };
  return {
    async count(channelId, subtopic) {
      const rows = await query(
        'SELECT count(*)::int AS n FROM messages WHERE channel_id = $1 AND subtopic = $2',
        [channelId, subtopic],
      );
      return rows[0].n;
    },
    async read(channelId, subtopic, untilMs) {
      const rows = await query(
        'SELECT payload, received_at FROM messages WHERE channel_id = $1 AND subtopic = $2',
        [channelId, subtopic],
      );
      return tally(rows, untilMs);
    },
  };
}

/** Waits (bounded) until the stored count stops changing for 600 ms: QoS 0 may still be batched. */
export async function settledCount(reader, channelId, subtopic, maxMs = 10_000) {
  const end = Date.now() + maxMs;
  let last = -1;
  for (;;) {
    const n = await reader.count(channelId, subtopic);
    if (n === last || Date.now() > end) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 600));
  }
}

/**
 * The durability each store ran at, in words. `durability` is the value passed with the hub's
 * `--durability` flag (when given); otherwise what this branch's storage adapters set.
 */
export async function durabilityNote(kind, where, durability) {
  if (kind === 'sqlite') {
    if (durability) return `SQLite, hub --durability ${durability}`;
    // The hub's default (decision 0019); PRAGMA synchronous is per connection, not in the file.
    return "SQLite WAL, the hub's default --durability normal (synchronous=NORMAL: survives a process crash, not a power cut)";
  }
  const c = new pg.Client({ connectionString: where.url });
  await c.connect();
  try {
    const show = async (k) => (await c.query(`SHOW ${k}`)).rows[0][k];
    const flag = durability ? `hub --durability ${durability}; ` : '';
    return `PostgreSQL, ${flag}synchronous_commit=${await show('synchronous_commit')}, fsync=${await show('fsync')} (server settings)`;
  } finally {
    await c.end();
  }
}
