import type { Database } from 'better-sqlite3';
import {
  decodeMessageCursor,
  encodeMessageCursor,
  pageSize,
  type MessageStore,
} from '@bulwark/core';
import {
  aggregateWindow,
  BUCKET_AGGREGATES,
  pageOf,
  toBucket,
  toEnvelope,
  type BucketRow,
  type MessageRow,
} from '@bulwark/store-sql';
import { channelKeyLookup, createAppend, seriesKeyLookup } from './message-append.js';
import type { ThreadAppender } from './message-writer.js';

/**
 * The telemetry tables (migration 14: telemetry_channels, telemetry_messages, telemetry_values;
 * migration 24: telemetry_series) behind the MessageStore port. Batches are appended on the writer thread when one is given (a
 * database file), else on this connection. Reads resolve the channel's integer key first: a
 * channel that never had telemetry has none, and reads nothing.
 *
 * Times: messages are filtered and ordered by `received_at` (epoch ms). Aggregates are over the
 * SenML record time `t` (seconds, a double), compared at microsecond precision: `t` is rounded to
 * whole microseconds (`us`) before it is filtered against [from, to] (ms) and bucketed, so a
 * decimal time such as 1735689600.1 falls where its digits say despite binary floating point.
 * Bucket start (ms) = floor(us / (bucketMs * 1000)) * bucketMs, aligned to the epoch.
 */
export function createMessageStore(db: Database, thread?: ThreadAppender): MessageStore {
  const append = createAppend(db);
  const keys = channelKeyLookup(db);
  const series = seriesKeyLookup(db);
  const deleteBefore = db.transaction((orgId: string, channelId: string, before: number) => {
    const chan = keys.get(orgId, channelId);
    if (chan === undefined) return 0;
    db.prepare(
      `DELETE FROM telemetry_values WHERE msg IN
         (SELECT seq FROM telemetry_messages WHERE chan = ? AND received_at < ?)`,
    ).run(chan, before);
    return db
      .prepare('DELETE FROM telemetry_messages WHERE chan = ? AND received_at < ?')
      .run(chan, before).changes;
  });
  return {
    async appendBatch(envelopes) {
      if (envelopes.length === 0) return;
      if (thread !== undefined) await thread.append(envelopes);
      else append(envelopes);
    },
    async query(orgId, channelId, q, page) {
      const chan = keys.get(orgId, channelId);
      if (chan === undefined) return { items: [], nextCursor: null };
      const where = ['chan = ?'];
      const values: unknown[] = [chan];
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
          `EXISTS (SELECT 1 FROM telemetry_values tv WHERE tv.msg = m.seq AND tv.series =
             (SELECT key FROM telemetry_series WHERE chan = m.chan AND name = ?))`,
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
          `SELECT id, ? AS org_id, ? AS channel_id, subtopic, publisher_type, publisher_id,
             protocol, content_type, received_at, payload, senml, origin
           FROM telemetry_messages m WHERE ${where.join(' AND ')}
           ORDER BY received_at, id LIMIT ?`,
        )
        .all(orgId, channelId, ...values, limit + 1) as MessageRow[];
      return pageOf(rows, limit, toEnvelope, encodeMessageCursor);
    },
    async aggregate(orgId, channelId, q, bucketMs, fn) {
      const w = aggregateWindow(q, bucketMs);
      const chan = keys.get(orgId, channelId);
      if (chan === undefined) return [];
      const key = series.get(chan, q.senmlName);
      if (key === undefined) return [];
      const where = [
        'series = ?',
        'v IS NOT NULL',
        // A range the series index can use, one ms wider than [from, to]; `us` decides exactly.
        't >= ?',
        't <= ?',
      ];
      const values: unknown[] = [key, w.tFrom, w.tTo];
      const onMessage: string[] = [];
      if (q.publisherId !== undefined) {
        onMessage.push('m.publisher_id = ?');
        values.push(q.publisherId);
      }
      if (q.subtopic !== undefined) {
        onMessage.push('m.subtopic = ?');
        values.push(q.subtopic);
      }
      // `last` breaks equal times by message id: only it needs the id from the message.
      const messageId =
        fn === 'last'
          ? '(SELECT id FROM telemetry_messages m WHERE m.seq = telemetry_values.msg) AS message_id'
          : 'NULL AS message_id';
      if (onMessage.length > 0) {
        where.push(
          `EXISTS (SELECT 1 FROM telemetry_messages m
             WHERE m.seq = telemetry_values.msg AND ${onMessage.join(' AND ')})`,
        );
      }
      const rows = db
        .prepare(
          `WITH pts AS (
             SELECT CAST(round(t * 1000000) AS INTEGER) AS us, v, t, ${messageId}, idx
             FROM telemetry_values WHERE ${where.join(' AND ')}
           ), b AS (
             -- floor division that is right for negative times too
             SELECT (us - ((us % ?) + ?) % ?) / 1000 AS start, v, t, message_id, idx
             FROM pts WHERE us >= ? AND us <= ?
           )
           ${BUCKET_AGGREGATES[fn]}`,
        )
        .all(...values, w.bucketUs, w.bucketUs, w.bucketUs, w.usFrom, w.usTo) as BucketRow[];
      return rows.map(toBucket);
    },
    async deleteBefore(orgId, channelId, before) {
      return deleteBefore.immediate(orgId, channelId, before);
    },
  };
}
