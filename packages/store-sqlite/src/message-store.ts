import { Buffer } from 'node:buffer';
import type { Database } from 'better-sqlite3';
import type {
  AggregateFn,
  Bucket,
  Envelope,
  IngestProtocol,
  MessageStore,
  SenmlRecord,
} from '@bulwark/core';
import { decodeMessageCursor, encodeMessageCursor, pageSize } from './codec.js';

interface MessageRow {
  id: string;
  org_id: string;
  channel_id: string;
  subtopic: string;
  publisher_type: string;
  publisher_id: string;
  protocol: string;
  content_type: string;
  received_at: number;
  payload: Buffer;
  senml: string | null;
  origin: string;
}

const toEnvelope = (r: MessageRow): Envelope => {
  const envelope: Envelope = {
    id: r.id,
    orgId: r.org_id,
    channelId: r.channel_id,
    subtopic: r.subtopic,
    publisher: { type: r.publisher_type as Envelope['publisher']['type'], id: r.publisher_id },
    protocol: r.protocol as IngestProtocol,
    contentType: r.content_type,
    receivedAt: r.received_at,
    // A plain Uint8Array, as the port says (a Buffer is a subclass with another prototype).
    payload: new Uint8Array(r.payload),
    origin: r.origin,
  };
  if (r.senml !== null) envelope.senml = JSON.parse(r.senml) as SenmlRecord[];
  return envelope;
};

/** SQL of each aggregate over the bucketed points `b` (start, v, t, message_id, idx). */
const AGGREGATES: Record<AggregateFn, string> = {
  min: 'SELECT start, min(v) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  max: 'SELECT start, max(v) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  avg: 'SELECT start, avg(v) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  count: 'SELECT start, count(*) AS value, count(*) AS n FROM b GROUP BY start ORDER BY start',
  // The value with the greatest record time; equal times are decided by message id, then by the
  // record's position in its message.
  last: `SELECT start, v AS value, n FROM (
           SELECT start, v, count(*) OVER (PARTITION BY start) AS n,
             row_number() OVER (PARTITION BY start ORDER BY t DESC, message_id DESC, idx DESC) AS rn
           FROM b)
         WHERE rn = 1 ORDER BY start`,
};

/** The largest |epoch ms| a Date can hold (ECMA-262 §21.4.1.1); bounds are clamped to it. */
const MAX_MS = 8.64e15;
const clampMs = (ms: number): number => Math.min(Math.max(ms, -MAX_MS), MAX_MS);

/**
 * The messages and senml_values tables behind the MessageStore port.
 *
 * Times: messages are filtered and ordered by `received_at` (epoch ms). Aggregates are over the
 * SenML record time `t` (seconds, a double), compared at microsecond precision: `t` is rounded to
 * whole microseconds (`us`) before it is filtered against [from, to] (ms) and bucketed, so a
 * decimal time such as 1735689600.1 falls where its digits say despite binary floating point.
 * Bucket start (ms) = floor(us / (bucketMs * 1000)) * bucketMs, aligned to the epoch.
 */
export function createMessageStore(db: Database): MessageStore {
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, org_id, channel_id, subtopic, publisher_type, publisher_id,
       protocol, content_type, received_at, payload, senml, origin)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING`,
  );
  const insertValue = db.prepare(
    `INSERT INTO senml_values (message_id, idx, org_id, channel_id, name, t, v, vs, vb, vd, u, s,
       received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const append = db.transaction((envelopes: readonly Envelope[]): void => {
    for (const e of envelopes) {
      const inserted = insertMessage.run(
        e.id,
        e.orgId,
        e.channelId,
        e.subtopic,
        e.publisher.type,
        e.publisher.id,
        e.protocol,
        e.contentType,
        e.receivedAt,
        Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength),
        e.senml === undefined ? null : JSON.stringify(e.senml),
        e.origin,
      );
      // A repeated id (a retried batch) was stored before, with its values: skip both.
      if (inserted.changes === 0) continue;
      e.senml?.forEach((r, idx) => {
        insertValue.run(
          e.id,
          idx,
          e.orgId,
          e.channelId,
          r.n,
          r.t,
          r.v ?? null,
          r.vs ?? null,
          r.vb === undefined ? null : r.vb ? 1 : 0,
          r.vd ?? null,
          r.u ?? null,
          r.s ?? null,
          e.receivedAt,
        );
      });
    }
  });
  const deleteBefore = db.transaction((orgId: string, channelId: string, before: number) => {
    db.prepare(
      `DELETE FROM senml_values WHERE message_id IN
         (SELECT id FROM messages WHERE org_id = ? AND channel_id = ? AND received_at < ?)`,
    ).run(orgId, channelId, before);
    return db
      .prepare('DELETE FROM messages WHERE org_id = ? AND channel_id = ? AND received_at < ?')
      .run(orgId, channelId, before).changes;
  });
  return {
    async appendBatch(envelopes) {
      if (envelopes.length > 0) append.immediate(envelopes);
    },
    async query(orgId, channelId, q, page) {
      const where = ['org_id = ?', 'channel_id = ?'];
      const values: unknown[] = [orgId, channelId];
      if (q.from !== undefined) {
        where.push('received_at >= ?');
        values.push(q.from);
      }
      if (q.to !== undefined) {
        where.push('received_at <= ?');
        values.push(q.to);
      }
      if (q.publisherId !== undefined) {
        where.push('publisher_id = ?');
        values.push(q.publisherId);
      }
      if (q.subtopic !== undefined) {
        where.push('subtopic = ?');
        values.push(q.subtopic);
      }
      if (q.senmlName !== undefined) {
        where.push(
          'EXISTS (SELECT 1 FROM senml_values sv WHERE sv.message_id = messages.id AND sv.name = ?)',
        );
        values.push(q.senmlName);
      }
      if (page.cursor != null) {
        const after = decodeMessageCursor(page.cursor);
        where.push('(received_at, id) > (?, ?)');
        values.push(after.receivedAt, after.id);
      }
      const limit = pageSize(page.limit);
      const rows = db
        .prepare(
          `SELECT * FROM messages WHERE ${where.join(' AND ')}
           ORDER BY received_at, id LIMIT ?`,
        )
        .all(...values, limit + 1) as MessageRow[];
      const items = rows.slice(0, limit).map(toEnvelope);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeMessageCursor(last) : null,
      };
    },
    async aggregate(orgId, channelId, q, bucketMs, fn) {
      const bucketUs = bucketMs * 1000;
      if (!Number.isSafeInteger(bucketUs) || bucketMs < 1) {
        throw new RangeError(`bucketMs must be a positive integer, got ${bucketMs}`);
      }
      const from = clampMs(q.from);
      const to = clampMs(q.to);
      const where = [
        'org_id = ?',
        'channel_id = ?',
        'name = ?',
        'v IS NOT NULL',
        // A range the series index can use, one ms wider than [from, to]; `us` decides exactly.
        't >= ?',
        't <= ?',
      ];
      const values: unknown[] = [orgId, channelId, q.senmlName, (from - 1) / 1000, (to + 1) / 1000];
      const onMessage: string[] = [];
      if (q.publisherId !== undefined) {
        onMessage.push('m.publisher_id = ?');
        values.push(q.publisherId);
      }
      if (q.subtopic !== undefined) {
        onMessage.push('m.subtopic = ?');
        values.push(q.subtopic);
      }
      if (onMessage.length > 0) {
        where.push(
          `EXISTS (SELECT 1 FROM messages m
             WHERE m.id = senml_values.message_id AND ${onMessage.join(' AND ')})`,
        );
      }
      const rows = db
        .prepare(
          `WITH pts AS (
             SELECT CAST(round(t * 1000000) AS INTEGER) AS us, v, t, message_id, idx
             FROM senml_values WHERE ${where.join(' AND ')}
           ), b AS (
             -- floor division that is right for negative times too
             SELECT (us - ((us % ?) + ?) % ?) / 1000 AS start, v, t, message_id, idx
             FROM pts WHERE us >= ? AND us <= ?
           )
           ${AGGREGATES[fn]}`,
        )
        .all(
          ...values,
          bucketUs,
          bucketUs,
          bucketUs,
          Math.ceil(from * 1000),
          Math.floor(to * 1000),
        ) as Array<{ start: number; value: number | null; n: number }>;
      return rows.map((r): Bucket => ({ start: r.start, value: r.value, count: r.n }));
    },
    async deleteBefore(orgId, channelId, before) {
      return deleteBefore.immediate(orgId, channelId, before);
    },
  };
}
