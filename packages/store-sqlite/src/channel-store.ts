import type { Database } from 'better-sqlite3';
import {
  decodeIdCursor,
  encodeIdCursor,
  pageSize,
  type Channel,
  type ChannelStore,
} from '@bulwark/core';
import {
  pageOf,
  toChannelWith,
  toConnectionWith,
  type ChannelRow,
  type ConnectionRow,
} from '@bulwark/store-sql';
import { SQLITE_COLUMNS, type SqliteColumns } from './codec.js';
import { mapUnique } from './errors.js';

const toChannel = toChannelWith(SQLITE_COLUMNS);
const toConnection = toConnectionWith(SQLITE_COLUMNS);

/**
 * The channels and channel_connections tables behind the ChannelStore port; booleans are 0/1.
 * Deleting a channel also deletes its stored messages and SenML values (they have no foreign key,
 * see migration 2), all in one transaction.
 */
export function createChannelStore(db: Database): ChannelStore {
  const get = (orgId: string, id: string): Channel | undefined => {
    const row = db.prepare('SELECT * FROM channels WHERE org_id = ? AND id = ?').get(orgId, id) as
      ChannelRow<SqliteColumns> | undefined;
    return row && toChannel(row);
  };
  const remove = db.transaction((orgId: string, id: string): boolean => {
    // Telemetry by the channel's key (migration 14); the key's row stays (keys are never reused).
    const chan = db
      .prepare('SELECT key FROM telemetry_channels WHERE org_id = ? AND channel_id = ?')
      .pluck()
      .get(orgId, id);
    if (chan !== undefined) {
      db.prepare(
        'DELETE FROM telemetry_values WHERE msg IN (SELECT seq FROM telemetry_messages WHERE chan = ?)',
      ).run(chan);
      db.prepare('DELETE FROM telemetry_messages WHERE chan = ?').run(chan);
    }
    // Connections go by ON DELETE CASCADE on (org_id, channel_id).
    return (
      db.prepare('DELETE FROM channels WHERE org_id = ? AND id = ?').run(orgId, id).changes > 0
    );
  });
  // The hot authorization lookup: prepared once.
  const getConnection = db.prepare(
    `SELECT * FROM channel_connections
     WHERE org_id = ? AND channel_id = ? AND client_type = ? AND client_id = ?`,
  );
  return {
    async create(c) {
      mapUnique(() =>
        db
          .prepare(
            `INSERT INTO channels
               (id, org_id, name, persisted, retention_days, content_type, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            c.id,
            c.orgId,
            c.name,
            c.persisted ? 1 : 0,
            c.retentionDays,
            c.contentType,
            c.createdAt,
          ),
      );
    },
    async get(orgId, id) {
      return get(orgId, id);
    },
    async list(orgId, page) {
      const where = ['org_id = ?'];
      const values: unknown[] = [orgId];
      if (page.cursor != null) {
        where.push('id > ?');
        values.push(decodeIdCursor(page.cursor));
      }
      const limit = pageSize(page.limit);
      const rows = db
        .prepare(`SELECT * FROM channels WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
        .all(...values, limit + 1) as ChannelRow<SqliteColumns>[];
      return pageOf(rows, limit, toChannel, (last) => encodeIdCursor(last.id));
    },
    async update(orgId, id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      if (patch.name !== undefined) {
        sets.push('name = ?');
        values.push(patch.name);
      }
      if (patch.persisted !== undefined) {
        sets.push('persisted = ?');
        values.push(patch.persisted ? 1 : 0);
      }
      if (patch.retentionDays !== undefined) {
        sets.push('retention_days = ?');
        values.push(patch.retentionDays);
      }
      if (patch.contentType !== undefined) {
        sets.push('content_type = ?');
        values.push(patch.contentType);
      }
      if (sets.length === 0) return get(orgId, id);
      const row = mapUnique(
        () =>
          db
            .prepare(
              `UPDATE channels SET ${sets.join(', ')} WHERE org_id = ? AND id = ? RETURNING *`,
            )
            .get(...values, orgId, id) as ChannelRow<SqliteColumns> | undefined,
      );
      return row && toChannel(row);
    },
    async delete(orgId, id) {
      return remove.immediate(orgId, id);
    },
    async connect(c) {
      // The foreign key on (org_id, channel_id) refuses a channel of another organization.
      db.prepare(
        `INSERT INTO channel_connections (org_id, channel_id, client_type, client_id, publish,
           subscribe, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id, channel_id, client_type, client_id) DO UPDATE SET
           publish = excluded.publish, subscribe = excluded.subscribe,
           created_at = excluded.created_at`,
      ).run(
        c.orgId,
        c.channelId,
        c.clientType,
        c.clientId,
        c.publish ? 1 : 0,
        c.subscribe ? 1 : 0,
        c.createdAt,
      );
    },
    async disconnect(orgId, channelId, clientType, clientId) {
      return (
        db
          .prepare(
            `DELETE FROM channel_connections
             WHERE org_id = ? AND channel_id = ? AND client_type = ? AND client_id = ?`,
          )
          .run(orgId, channelId, clientType, clientId).changes > 0
      );
    },
    async listConnections(orgId, channelId) {
      const rows = db
        .prepare(
          `SELECT * FROM channel_connections WHERE org_id = ? AND channel_id = ?
           ORDER BY client_type, client_id`,
        )
        .all(orgId, channelId) as ConnectionRow<SqliteColumns>[];
      return rows.map(toConnection);
    },
    async getConnection(orgId, channelId, clientType, clientId) {
      const row = getConnection.get(orgId, channelId, clientType, clientId) as
        ConnectionRow<SqliteColumns> | undefined;
      return row && toConnection(row);
    },
    async listForClient(orgId, clientType, clientId) {
      const rows = db
        .prepare(
          `SELECT * FROM channel_connections WHERE org_id = ? AND client_type = ? AND client_id = ?
           ORDER BY channel_id`,
        )
        .all(orgId, clientType, clientId) as ConnectionRow<SqliteColumns>[];
      return rows.map(toConnection);
    },
    async listWithRetention() {
      const rows = db
        .prepare('SELECT * FROM channels WHERE retention_days IS NOT NULL ORDER BY id')
        .all() as ChannelRow<SqliteColumns>[];
      return rows.map(toChannel);
    },
  };
}
