/**
 * The MQTT state port on PostgreSQL (decision 0020). A batch is one transaction that first locks
 * the rows of every session it touches (`FOR UPDATE`), so a batch and another node's `take` of the
 * same session are serialized: either the batch's writes land before the take reads the queue, or
 * they are skipped as not owned. Runs of queue inserts and deletes go as one statement.
 */
import type { Pool, PoolClient } from 'pg';
import type { MqttStateOp, MqttStateStore, MqttStoredSession } from '@bulwark/core';
import {
  mqttQueuedValues,
  mqttSessionValues,
  toMqttQueued,
  toMqttRetained,
  toMqttSession,
  type MqttQueueRow,
  type MqttRetainedRow,
  type MqttSessionRow,
} from '@bulwark/store-sql';
import { query, transaction, type Queryable } from './db.js';

const UPSERT_SESSION = `INSERT INTO mqtt_sessions (key, owner, client_id, identity,
    expiry_interval, expires_at, subscriptions, inbound_qos2) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, client_id = excluded.client_id,
    identity = excluded.identity, expiry_interval = excluded.expiry_interval,
    expires_at = excluded.expires_at, subscriptions = excluded.subscriptions,
    inbound_qos2 = excluded.inbound_qos2`;

const QUEUE_COLUMNS =
  'session_key, seq, topic, payload, qos, retain, props, expires_at, sub_ids, packet_id, released';

/** Creates the MQTT state store on `pool` (migrated to 12). */
export function createMqttStateStore(pool: Pool): MqttStateStore {
  const endSession = async (db: Queryable, key: string): Promise<void> => {
    await query(db, 'DELETE FROM mqtt_queue WHERE session_key = $1', [key]);
    await query(db, 'DELETE FROM mqtt_sessions WHERE key = $1', [key]);
  };
  const expire = async (db: Queryable, now: number): Promise<number> => {
    const r = await query<{ key: string }>(
      db,
      `DELETE FROM mqtt_sessions WHERE expires_at IS NOT NULL AND expires_at <= $1 RETURNING key`,
      [now],
    );
    const keys = r.rows.map((x) => x.key);
    if (keys.length > 0)
      await query(db, 'DELETE FROM mqtt_queue WHERE session_key = ANY($1::text[])', [keys]);
    return keys.length;
  };
  const withQueues = async (
    db: Queryable,
    rows: MqttSessionRow[],
  ): Promise<MqttStoredSession[]> => {
    if (rows.length === 0) return [];
    const q = await query<MqttQueueRow>(
      db,
      `SELECT * FROM mqtt_queue WHERE session_key = ANY($1::text[]) ORDER BY session_key, seq`,
      [rows.map((r) => r.key)],
    );
    const byKey = new Map<string, MqttStoredSession>();
    const out = rows.map((r) => {
      const s: MqttStoredSession = { session: toMqttSession(r), queue: [] };
      byKey.set(r.key, s);
      return s;
    });
    for (const row of q.rows) byKey.get(row.session_key)?.queue.push(toMqttQueued(row));
    return out;
  };

  /** Runs `ops` in order on one client inside a transaction. */
  async function run(db: PoolClient, node: string, ops: readonly MqttStateOp[]): Promise<string[]> {
    // Lock every session this batch touches in one statement, in key order (two batches never
    // wait on each other in a cycle); a take-up on another node waits for this batch to commit.
    const keys = new Set<string>();
    for (const o of ops) {
      if (o.op === 'create' || o.op === 'update') keys.add(o.session.key);
      else if (o.op !== 'retain' && o.op !== 'unretain') keys.add(o.key);
    }
    const owned = new Map<string, boolean>();
    for (const k of keys) owned.set(k, false);
    if (keys.size > 0) {
      const r = await query<{ key: string; owner: string }>(
        db,
        'SELECT key, owner FROM mqtt_sessions WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE',
        [[...keys]],
      );
      for (const row of r.rows) owned.set(row.key, row.owner === node);
    }
    const notOwned = new Set<string>();
    const mine = async (key: string): Promise<boolean> => {
      const v = owned.get(key) === true;
      if (!v) notOwned.add(key);
      return v;
    };
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i]!;
      switch (o.op) {
        case 'retain': {
          const r = o.record;
          await query(
            db,
            `INSERT INTO mqtt_retained (topic, payload, qos, props, expires_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload,
             qos = excluded.qos, props = excluded.props, expires_at = excluded.expires_at`,
            [r.topic, r.payload, r.qos, r.props, r.expiresAt],
          );
          break;
        }
        case 'unretain':
          await query(db, 'DELETE FROM mqtt_retained WHERE topic = $1', [o.topic]);
          break;
        case 'create':
          await query(db, 'DELETE FROM mqtt_queue WHERE session_key = $1', [o.session.key]);
          await query(db, UPSERT_SESSION, [o.session.key, node, ...mqttSessionValues(o.session)]);
          owned.set(o.session.key, true);
          notOwned.delete(o.session.key);
          break;
        case 'update':
          if (await mine(o.session.key))
            await query(db, UPSERT_SESSION, [o.session.key, node, ...mqttSessionValues(o.session)]);
          break;
        case 'end':
          if (await mine(o.key)) {
            await endSession(db, o.key);
            owned.set(o.key, false);
          }
          break;
        case 'enqueue': {
          // A run of inserts: one multi-row statement for the owned ones.
          const values: unknown[] = [];
          const rows: string[] = [];
          let j = i;
          // PostgreSQL takes at most 65,535 parameters per statement.
          while (j < ops.length && values.length < 60_000) {
            const e = ops[j]!;
            if (e.op !== 'enqueue') break;
            j++;
            if (!(await mine(e.key))) continue;
            const v = [e.key, ...mqttQueuedValues(e.item)];
            rows.push(`(${v.map((_, k) => `$${values.length + k + 1}`).join(', ')})`);
            values.push(...v);
          }
          i = j - 1;
          if (rows.length > 0)
            await query(
              db,
              `INSERT INTO mqtt_queue (${QUEUE_COLUMNS}) VALUES ${rows.join(', ')}
               ON CONFLICT (session_key, seq) DO UPDATE SET packet_id = excluded.packet_id,
               released = excluded.released`,
              values,
            );
          break;
        }
        case 'sent':
          if (await mine(o.key))
            await query(
              db,
              'UPDATE mqtt_queue SET packet_id = $1 WHERE session_key = $2 AND seq = $3',
              [o.packetId, o.key, o.seq],
            );
          break;
        case 'released':
          if (await mine(o.key))
            await query(
              db,
              'UPDATE mqtt_queue SET released = 1 WHERE session_key = $1 AND seq = $2',
              [o.key, o.seq],
            );
          break;
        case 'done': {
          // A run of deletes: one statement.
          const keys: string[] = [];
          const seqs: number[] = [];
          let j = i;
          while (j < ops.length) {
            const e = ops[j]!;
            if (e.op !== 'done') break;
            j++;
            if (!(await mine(e.key))) continue;
            keys.push(e.key);
            seqs.push(e.seq);
          }
          i = j - 1;
          if (keys.length > 0)
            await query(
              db,
              `DELETE FROM mqtt_queue q USING unnest($1::text[], $2::bigint[]) AS d(k, s)
               WHERE q.session_key = d.k AND q.seq = d.s`,
              [keys, seqs],
            );
          break;
        }
      }
    }
    return [...notOwned];
  }

  return {
    async apply(node, ops) {
      if (ops.length === 0) return { notOwned: [] };
      return { notOwned: await transaction(pool, (c) => run(c, node, ops)) };
    },
    async retained(prefix) {
      const r = await query<MqttRetainedRow>(
        pool,
        'SELECT * FROM mqtt_retained WHERE left(topic, length($1)) = $1 ORDER BY topic',
        [prefix],
      );
      return r.rows.map(toMqttRetained);
    },
    async load(node, now, adopt) {
      return transaction(pool, async (c) => {
        const ended = await expire(c, now);
        if (adopt) await query(c, 'UPDATE mqtt_sessions SET owner = $1', [node]);
        const rows = await query<MqttSessionRow>(
          c,
          'SELECT * FROM mqtt_sessions WHERE owner = $1 ORDER BY key',
          [node],
        );
        return { ended, sessions: await withQueues(c, rows.rows) };
      });
    },
    async take(key, node, now) {
      return transaction(pool, async (c) => {
        const r = await query<MqttSessionRow>(
          c,
          'SELECT * FROM mqtt_sessions WHERE key = $1 FOR UPDATE',
          [key],
        );
        const row = r.rows[0];
        if (row === undefined) return undefined;
        if (row.expires_at !== null && row.expires_at <= now) {
          await endSession(c, key);
          return undefined;
        }
        await query(c, 'UPDATE mqtt_sessions SET owner = $1 WHERE key = $2', [node, key]);
        const [s] = await withQueues(c, [row]);
        return { ...s!, previousOwner: row.owner };
      });
    },
    async expire(now) {
      return transaction(pool, (c) => expire(c, now));
    },
  };
}
