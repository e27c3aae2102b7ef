import type { Pool } from 'pg';
import {
  decodeMessageCursor,
  encodeMessageCursor,
  pageSize,
  type Envelope,
  type MessageStore,
  type SenmlRecord,
} from '@bulwark/core';
import {
  aggregateWindow,
  BUCKET_AGGREGATES,
  messageValues,
  pageOf,
  toBucket,
  toEnvelope,
  type BucketRow,
  type MessageRow,
} from '@bulwark/store-sql';
import { query } from './db.js';

/**
 * Appends a batch in ONE statement (so one round trip and one transaction): the messages arrive as
 * column arrays through unnest; the inserted ones (a repeated id is skipped by ON CONFLICT) are
 * RETURNed and joined to the SenML value arrays, so a retried batch adds no values either.
 */
const APPEND = `
WITH inserted AS (
  INSERT INTO messages (id, org_id, channel_id, subtopic, publisher_type, publisher_id, protocol,
    content_type, received_at, payload, senml, origin)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
    $7::text[], $8::text[], $9::bigint[], $10::bytea[], $11::text[], $12::text[])
  ON CONFLICT (id) DO NOTHING
  RETURNING id, org_id, channel_id, received_at
)
INSERT INTO senml_values (message_id, idx, org_id, channel_id, name, t, v, vs, vb, vd, u, s,
  received_at)
SELECT i.id, x.idx, i.org_id, i.channel_id, x.name, x.t, x.v, x.vs, x.vb, x.vd, x.u, x.s,
  i.received_at
FROM unnest($13::text[], $14::integer[], $15::text[], $16::float8[], $17::float8[], $18::text[],
    $19::boolean[], $20::text[], $21::text[], $22::float8[])
  AS x(message_id, idx, name, t, v, vs, vb, vd, u, s)
JOIN inserted i ON i.id = x.message_id`;

/** Column arrays of one batch, for APPEND. */
function toColumns(envelopes: readonly Envelope[]): unknown[] {
  const m = Array.from({ length: 12 }, (): unknown[] => []);
  const x = Array.from({ length: 10 }, (): unknown[] => []);
  // ON CONFLICT skips an id stored before, but a repeat inside the statement would pass its
  // values through the join twice: keep the first of each id.
  const seen = new Set<string>();
  // Rows go in id order, so two batches that share ids (a retry racing its first attempt) take
  // their row locks in the same order and one waits for the other instead of deadlocking.
  const sorted = [...envelopes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const e of sorted) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    messageValues(e).forEach((value, i) => m[i]?.push(value));
    e.senml?.forEach((r: SenmlRecord, idx) => {
      const value = [e.id, idx, r.n, r.t, r.v, r.vs, r.vb, r.vd, r.u, r.s];
      value.forEach((v, i) => x[i]?.push(v ?? null));
    });
  }
  return [...m, ...x];
}

/**
 * The messages and senml_values tables behind the MessageStore port.
 *
 * Times: messages are filtered and ordered by `received_at` (epoch ms). Aggregates are over the
 * SenML record time `t` (seconds, a double), compared at microsecond precision: `t` is rounded to
 * whole microseconds (`us`) before it is filtered against [from, to] (ms) and bucketed, so a
 * decimal time such as 1735689600.1 falls where its digits say despite binary floating point.
 * Bucket start (ms) = floor(us / (bucketMs * 1000)) * bucketMs, aligned to the epoch.
 */
export function createMessageStore(pool: Pool, concurrentBatches = 1): MessageStore {
  return {
    concurrentBatches,
    async appendBatch(envelopes) {
      if (envelopes.length > 0) await query(pool, APPEND, toColumns(envelopes));
    },
    async query(orgId, channelId, q, page) {
      const values: unknown[] = [orgId, channelId];
      const where = ['org_id = $1', 'channel_id = $2'];
      const add = (sql: (p: string) => string, value: unknown): void => {
        values.push(value);
        where.push(sql(`$${values.length}`));
      };
      if (q.from !== undefined) add((p) => `received_at >= ${p}`, q.from);
      if (q.to !== undefined) add((p) => `received_at <= ${p}`, q.to);
      if (q.publisherId !== undefined) add((p) => `publisher_id = ${p}`, q.publisherId);
      if (q.subtopic !== undefined) add((p) => `subtopic = ${p}`, q.subtopic);
      if (q.senmlName !== undefined) {
        add(
          (p) =>
            `EXISTS (SELECT 1 FROM senml_values sv WHERE sv.message_id = messages.id AND sv.name = ${p})`,
          q.senmlName,
        );
      }
      if (page.cursor != null) {
        const after = decodeMessageCursor(page.cursor);
        values.push(after.receivedAt, after.id);
        where.push(`(received_at, id) > ($${values.length - 1}, $${values.length})`);
      }
      const limit = pageSize(page.limit);
      values.push(limit + 1);
      const r = await query<MessageRow>(
        pool,
        `SELECT * FROM messages WHERE ${where.join(' AND ')}
         ORDER BY received_at, id LIMIT $${values.length}`,
        values,
      );
      return pageOf(r.rows, limit, toEnvelope, encodeMessageCursor);
    },
    async aggregate(orgId, channelId, q, bucketMs, fn) {
      const w = aggregateWindow(q, bucketMs);
      const values: unknown[] = [
        orgId,
        channelId,
        q.senmlName,
        // A range the series index can use, one ms wider than [from, to]; `us` decides exactly.
        w.tFrom,
        w.tTo,
        w.bucketUs,
        w.usFrom,
        w.usTo,
      ];
      const onMessage: string[] = [];
      if (q.publisherId !== undefined) {
        values.push(q.publisherId);
        onMessage.push(`m.publisher_id = $${values.length}`);
      }
      if (q.subtopic !== undefined) {
        values.push(q.subtopic);
        onMessage.push(`m.subtopic = $${values.length}`);
      }
      const byMessage =
        onMessage.length === 0
          ? ''
          : `AND EXISTS (SELECT 1 FROM messages m
               WHERE m.id = sv.message_id AND ${onMessage.join(' AND ')})`;
      const r = await query<BucketRow>(
        pool,
        `WITH pts AS (
           SELECT round(t * 1000000)::bigint AS us, v, t, message_id, idx
           FROM senml_values sv
           WHERE org_id = $1 AND channel_id = $2 AND name = $3 AND v IS NOT NULL
             AND t >= $4::float8 AND t <= $5::float8 ${byMessage}
         ), b AS (
           -- floor division that is right for negative times too
           SELECT (us - ((us % $6::bigint) + $6::bigint) % $6::bigint) / 1000 AS start,
             v, t, message_id, idx
           FROM pts WHERE us >= $7::bigint AND us <= $8::bigint
         )
         ${BUCKET_AGGREGATES[fn]}`,
        values,
      );
      return r.rows.map(toBucket);
    },
    async deleteBefore(orgId, channelId, before) {
      // One statement, so one transaction; every data-modifying WITH runs to completion.
      const r = await query<{ n: number }>(
        pool,
        `WITH gone AS (
           DELETE FROM messages WHERE org_id = $1 AND channel_id = $2 AND received_at < $3
           RETURNING id
         ), vals AS (
           DELETE FROM senml_values WHERE message_id IN (SELECT id FROM gone)
         )
         SELECT count(*) AS n FROM gone`,
        [orgId, channelId, before],
      );
      return r.rows[0]?.n ?? 0;
    },
  };
}
