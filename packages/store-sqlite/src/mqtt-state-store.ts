/** The MQTT state port on SQLite (decision 0020): one IMMEDIATE transaction per batch. */
import type { Database } from 'better-sqlite3';
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

/** Creates the MQTT state store on `db` (migrated to 12). */
export function createMqttStateStore(db: Database): MqttStateStore {
  const st = {
    retain: db.prepare(
      `INSERT INTO mqtt_retained (topic, payload, qos, props, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos,
         props = excluded.props, expires_at = excluded.expires_at`,
    ),
    unretain: db.prepare('DELETE FROM mqtt_retained WHERE topic = ?'),
    retained: db.prepare(
      'SELECT * FROM mqtt_retained WHERE substr(topic, 1, length(?)) = ? ORDER BY topic',
    ),
    owner: db.prepare('SELECT owner FROM mqtt_sessions WHERE key = ?'),
    upsert: db.prepare(
      `INSERT INTO mqtt_sessions (key, owner, client_id, identity, expiry_interval, expires_at,
         subscriptions, inbound_qos2) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, client_id = excluded.client_id,
         identity = excluded.identity, expiry_interval = excluded.expiry_interval,
         expires_at = excluded.expires_at, subscriptions = excluded.subscriptions,
         inbound_qos2 = excluded.inbound_qos2`,
    ),
    deleteSession: db.prepare('DELETE FROM mqtt_sessions WHERE key = ?'),
    deleteQueue: db.prepare('DELETE FROM mqtt_queue WHERE session_key = ?'),
    enqueue: db.prepare(
      `INSERT OR REPLACE INTO mqtt_queue (session_key, seq, topic, payload, qos, retain, props,
         expires_at, sub_ids, packet_id, released) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    sent: db.prepare('UPDATE mqtt_queue SET packet_id = ? WHERE session_key = ? AND seq = ?'),
    released: db.prepare('UPDATE mqtt_queue SET released = 1 WHERE session_key = ? AND seq = ?'),
    done: db.prepare('DELETE FROM mqtt_queue WHERE session_key = ? AND seq = ?'),
    queue: db.prepare('SELECT * FROM mqtt_queue WHERE session_key = ? ORDER BY seq'),
    ended: db.prepare(
      'SELECT key FROM mqtt_sessions WHERE expires_at IS NOT NULL AND expires_at <= ?',
    ),
    adopt: db.prepare('UPDATE mqtt_sessions SET owner = ?'),
    owned: db.prepare('SELECT * FROM mqtt_sessions WHERE owner = ? ORDER BY key'),
    claim: db.prepare('UPDATE mqtt_sessions SET owner = ? WHERE key = ?'),
    session: db.prepare('SELECT * FROM mqtt_sessions WHERE key = ?'),
  };

  const endSession = (key: string): void => {
    st.deleteQueue.run(key);
    st.deleteSession.run(key);
  };
  const expire = (now: number): number => {
    const keys = (st.ended.all(now) as Array<{ key: string }>).map((r) => r.key);
    for (const k of keys) endSession(k);
    return keys.length;
  };
  const withQueue = (s: MqttSessionRow): MqttStoredSession => ({
    session: toMqttSession(s),
    queue: (st.queue.all(s.key) as MqttQueueRow[]).map(toMqttQueued),
  });

  const apply = db.transaction((node: string, ops: readonly MqttStateOp[]): string[] => {
    const owned = new Map<string, boolean>();
    const notOwned = new Set<string>();
    const mine = (key: string): boolean => {
      let v = owned.get(key);
      if (v === undefined) {
        v = (st.owner.get(key) as { owner: string } | undefined)?.owner === node;
        owned.set(key, v);
      }
      if (!v) notOwned.add(key);
      return v;
    };
    for (const o of ops) {
      switch (o.op) {
        case 'retain': {
          const r = o.record;
          st.retain.run(r.topic, r.payload, r.qos, r.props, r.expiresAt);
          break;
        }
        case 'unretain':
          st.unretain.run(o.topic);
          break;
        case 'create':
          st.deleteQueue.run(o.session.key);
          st.upsert.run(o.session.key, node, ...mqttSessionValues(o.session));
          owned.set(o.session.key, true);
          notOwned.delete(o.session.key);
          break;
        case 'update':
          if (mine(o.session.key))
            st.upsert.run(o.session.key, node, ...mqttSessionValues(o.session));
          break;
        case 'end':
          if (mine(o.key)) {
            endSession(o.key);
            owned.set(o.key, false);
          }
          break;
        case 'enqueue':
          if (mine(o.key)) st.enqueue.run(o.key, ...mqttQueuedValues(o.item));
          break;
        case 'sent':
          if (mine(o.key)) st.sent.run(o.packetId, o.key, o.seq);
          break;
        case 'released':
          if (mine(o.key)) st.released.run(o.key, o.seq);
          break;
        case 'done':
          if (mine(o.key)) st.done.run(o.key, o.seq);
          break;
      }
    }
    return [...notOwned];
  });

  const load = db.transaction((node: string, now: number, adopt: boolean) => {
    const ended = expire(now);
    if (adopt) st.adopt.run(node);
    const sessions = (st.owned.all(node) as MqttSessionRow[]).map(withQueue);
    return { ended, sessions };
  });

  const take = db.transaction((key: string, node: string, now: number) => {
    const row = st.session.get(key) as MqttSessionRow | undefined;
    if (row === undefined) return undefined;
    if (row.expires_at !== null && row.expires_at <= now) {
      endSession(key);
      return undefined;
    }
    st.claim.run(node, key);
    return { ...withQueue(row), previousOwner: row.owner };
  });

  return {
    async apply(node, ops) {
      return { notOwned: apply.immediate(node, ops) };
    },
    async retained(prefix) {
      return (st.retained.all(prefix, prefix) as MqttRetainedRow[]).map(toMqttRetained);
    },
    async load(node, now, adopt) {
      return load.immediate(node, now, adopt);
    },
    async take(key, node, now) {
      return take.immediate(key, node, now);
    },
    async expire(now) {
      return db.transaction(expire).immediate(now);
    },
  };
}
