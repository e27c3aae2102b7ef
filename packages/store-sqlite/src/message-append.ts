import type { Database } from 'better-sqlite3';
import type { Envelope } from '@bulwark/core';
import { messageValues } from '@bulwark/store-sql';

/** The integer key of a channel's telemetry (migration 14), made on its first message. */
export type ChannelKeys = (orgId: string, channelId: string) => number;

/**
 * Looks up (and on first use makes) a channel's telemetry key on `db`. `create: false` answers
 * undefined for a channel that never had telemetry. Keys are never reused or deleted, so a key
 * read from a committed row may be cached for the connection's life.
 */
export function channelKeyLookup(db: Database): {
  get(orgId: string, channelId: string): number | undefined;
  make(orgId: string, channelId: string): number;
} {
  const select = db
    .prepare('SELECT key FROM telemetry_channels WHERE org_id = ? AND channel_id = ?')
    .pluck();
  const insert = db.prepare(
    `INSERT INTO telemetry_channels (org_id, channel_id) VALUES (?, ?)
     ON CONFLICT (org_id, channel_id) DO NOTHING`,
  );
  const get = (orgId: string, channelId: string) =>
    select.get(orgId, channelId) as number | undefined;
  return {
    get,
    make(orgId, channelId) {
      const found = get(orgId, channelId);
      if (found !== undefined) return found;
      insert.run(orgId, channelId);
      return get(orgId, channelId) as number;
    },
  };
}

/** The integer key of a (channel key, SenML name) series (migration 24), made on first use. */
export function seriesKeyLookup(db: Database): {
  get(chan: number, name: string): number | undefined;
  make(chan: number, name: string): number;
} {
  const select = db.prepare('SELECT key FROM telemetry_series WHERE chan = ? AND name = ?').pluck();
  const insert = db.prepare(
    `INSERT INTO telemetry_series (chan, name) VALUES (?, ?) ON CONFLICT (chan, name) DO NOTHING`,
  );
  const get = (chan: number, name: string) => select.get(chan, name) as number | undefined;
  return {
    get,
    make(chan, name) {
      const found = get(chan, name);
      if (found !== undefined) return found;
      insert.run(chan, name);
      return get(chan, name) as number;
    },
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
  const keys = channelKeyLookup(db);
  // Committed keys only: a key made in a transaction that rolls back may be given to another
  // channel by the next one.
  const cache = new Map<string, number>();
  const made = new Map<string, number>();
  const keyOf = (orgId: string, channelId: string): number => {
    const k = `${orgId}/${channelId}`;
    let key = cache.get(k) ?? made.get(k);
    if (key === undefined) {
      key = keys.make(orgId, channelId);
      made.set(k, key);
    }
    return key;
  };
  const series = seriesKeyLookup(db);
  const seriesCache = new Map<string, number>();
  const seriesMade = new Map<string, number>();
  const seriesOf = (chan: number, name: string): number => {
    const k = `${chan}\0${name}`;
    let key = seriesCache.get(k) ?? seriesMade.get(k);
    if (key === undefined) {
      key = series.make(chan, name);
      seriesMade.set(k, key);
    }
    return key;
  };
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
      const chan = keyOf(e.orgId, e.channelId);
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
          seriesOf(chan, r.n),
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
      for (const [k, v] of made) cache.set(k, v);
      if (seriesCache.size + seriesMade.size > MAX_CACHED_SERIES) seriesCache.clear();
      for (const [k, v] of seriesMade) seriesCache.set(k, v);
    } finally {
      made.clear();
      seriesMade.clear();
    }
  };
}
