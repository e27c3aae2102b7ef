import type { Database } from 'better-sqlite3';
import type { Envelope } from '@bulwark/core';
import { messageValues } from '@bulwark/store-sql';

/** The integer key of a channel's telemetry (migration 14), made on its first message. */
export type ChannelKeys = (orgId: string, channelId: string) => number;

/** Reads (and on first use makes) the integer key of a row named by two columns of `table`. */
function keyLookup<A, B>(
  db: Database,
  table: string,
  [a, b]: readonly [string, string],
): { get(x: A, y: B): number | undefined; make(x: A, y: B): number } {
  const select = db.prepare(`SELECT key FROM ${table} WHERE ${a} = ? AND ${b} = ?`).pluck();
  const insert = db.prepare(
    `INSERT INTO ${table} (${a}, ${b}) VALUES (?, ?) ON CONFLICT (${a}, ${b}) DO NOTHING`,
  );
  const get = (x: A, y: B) => select.get(x, y) as number | undefined;
  return {
    get,
    make(x, y) {
      const found = get(x, y);
      if (found !== undefined) return found;
      insert.run(x, y);
      return get(x, y) as number;
    },
  };
}

/**
 * Looks up (and on first use makes) a channel's telemetry key on `db`; `get` answers
 * undefined for a channel that never had telemetry. Keys are never reused or deleted, so a key
 * read from a committed row may be cached for the connection's life.
 */
export function channelKeyLookup(db: Database) {
  return keyLookup<string, string>(db, 'telemetry_channels', ['org_id', 'channel_id']);
}

/** The integer key of a (channel key, SenML name) series (migration 24), made on first use. */
export function seriesKeyLookup(db: Database) {
  return keyLookup<number, string>(db, 'telemetry_series', ['chan', 'name']);
}

/**
 * Keys made inside a transaction, remembered only once it commits: a key made in a transaction
 * that rolls back may be given to another row by the next one. Past `max` entries the cache starts
 * over (keys never change, so forgetting costs only a lookup).
 */
function committedKeys<A, B>(
  lookup: { make(x: A, y: B): number },
  max = Infinity,
): { of(x: A, y: B): number; commit(): void; forgetMade(): void } {
  const cache = new Map<string, number>();
  const made = new Map<string, number>();
  return {
    of(x, y) {
      const k = `${String(x)}\0${String(y)}`;
      let key = cache.get(k) ?? made.get(k);
      if (key === undefined) {
        key = lookup.make(x, y);
        made.set(k, key);
      }
      return key;
    },
    commit() {
      if (cache.size + made.size > max) cache.clear();
      for (const [k, v] of made) cache.set(k, v);
    },
    forgetMade: () => made.clear(),
  };
}

/** Series keys the writer remembers at most; past it the cache starts over (keys never change). */
const MAX_CACHED_SERIES = 200_000;

/**
 * The one transaction that appends a batch of envelopes (messages and their SenML values) on `db`
 * (BEGIN IMMEDIATE: the write lock up front): shared by the main connection and the writer thread.
 * Statements are prepared once; a channel's key is cached once its row is committed.
 */
export function createAppend(db: Database): (envelopes: readonly Envelope[]) => void {
  const channels = committedKeys(channelKeyLookup(db));
  const series = committedKeys(seriesKeyLookup(db), MAX_CACHED_SERIES);
  const insertMessage = db.prepare(
    `INSERT INTO telemetry_messages (chan, id, subtopic, publisher_type, publisher_id, protocol,
       content_type, received_at, payload, senml, origin)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (chan, received_at, id) DO NOTHING`,
  );
  const insertValue = db.prepare(
    `INSERT INTO telemetry_values (msg, idx, series, t, v, vs, vb, vd, u, s)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const append = db.transaction((envelopes: readonly Envelope[]): void => {
    for (const e of envelopes) {
      const chan = channels.of(e.orgId, e.channelId);
      // messageValues' column order without org_id and channel_id (the key stands for both).
      const values = messageValues(e);
      values.splice(1, 2);
      const inserted = insertMessage.run(chan, ...values);
      // A repeated envelope (a retried batch) was stored before, with its values: skip both.
      if (inserted.changes === 0) continue;
      const seq = inserted.lastInsertRowid;
      const records = e.senml;
      if (records === undefined) continue;
      for (let idx = 0; idx < records.length; idx++) {
        const r = records[idx]!;
        insertValue.run(
          seq,
          idx,
          series.of(chan, r.n),
          r.t,
          r.v ?? null,
          r.vs ?? null,
          r.vb === undefined ? null : r.vb ? 1 : 0,
          r.vd ?? null,
          r.u ?? null,
          r.s ?? null,
        );
      }
    }
  });
  return (envelopes) => {
    try {
      append.immediate(envelopes);
      // Committed: keep the keys made. Rolled back (thrown): forget them, they were never stored.
      channels.commit();
      series.commit();
    } finally {
      channels.forgetMade();
      series.forgetMade();
    }
  };
}
