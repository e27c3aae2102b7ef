import type { Pool } from 'pg';
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
import { PG_COLUMNS, type PgColumns } from './codec.js';
import { query } from './db.js';

const toChannel = toChannelWith(PG_COLUMNS);
const toConnection = toConnectionWith(PG_COLUMNS);

/**
 * The channels and channel_connections tables behind the ChannelStore port. Deleting a channel
 * also deletes its stored messages and SenML values (they have no foreign key, see migration 2).
 */
export function createChannelStore(pool: Pool): ChannelStore {
  const get = async (orgId: string, id: string): Promise<Channel | undefined> => {
    const r = await query<ChannelRow<PgColumns>>(
      pool,
      'SELECT * FROM channels WHERE org_id = $1 AND id = $2',
      [orgId, id],
    );
    return r.rows[0] && toChannel(r.rows[0]);
  };
  return {
    async create(c) {
      await query(
        pool,
        `INSERT INTO channels
           (id, org_id, name, persisted, retention_days, content_type, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [c.id, c.orgId, c.name, c.persisted, c.retentionDays, c.contentType, c.createdAt],
      );
    },
    get,
    async list(orgId, page) {
      const values: unknown[] = [orgId];
      let after = '';
      if (page.cursor != null) {
        values.push(decodeIdCursor(page.cursor));
        after = `AND id > $${values.length}`;
      }
      const limit = pageSize(page.limit);
      values.push(limit + 1);
      const r = await query<ChannelRow<PgColumns>>(
        pool,
        `SELECT * FROM channels WHERE org_id = $1 ${after} ORDER BY id LIMIT $${values.length}`,
        values,
      );
      return pageOf(r.rows, limit, toChannel, (last) => encodeIdCursor(last.id));
    },
    async update(orgId, id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      if (patch.name !== undefined) {
        values.push(patch.name);
        sets.push(`name = $${values.length}`);
      }
      if (patch.persisted !== undefined) {
        values.push(patch.persisted);
        sets.push(`persisted = $${values.length}`);
      }
      if (patch.retentionDays !== undefined) {
        values.push(patch.retentionDays);
        sets.push(`retention_days = $${values.length}`);
      }
      if (patch.contentType !== undefined) {
        values.push(patch.contentType);
        sets.push(`content_type = $${values.length}`);
      }
      if (sets.length === 0) return get(orgId, id);
      values.push(orgId, id);
      const r = await query<ChannelRow<PgColumns>>(
        pool,
        `UPDATE channels SET ${sets.join(', ')}
         WHERE org_id = $${values.length - 1} AND id = $${values.length} RETURNING *`,
        values,
      );
      return r.rows[0] && toChannel(r.rows[0]);
    },
    async delete(orgId, id) {
      // One statement, so one transaction; connections go by ON DELETE CASCADE. Every
      // data-modifying WITH runs to completion whether or not the outer query reads it.
      const r = await query<{ n: number }>(
        pool,
        `WITH vals AS (DELETE FROM senml_values WHERE org_id = $1 AND channel_id = $2),
              msgs AS (DELETE FROM messages WHERE org_id = $1 AND channel_id = $2),
              ch AS (DELETE FROM channels WHERE org_id = $1 AND id = $2 RETURNING id)
         SELECT count(*) AS n FROM ch`,
        [orgId, id],
      );
      return (r.rows[0]?.n ?? 0) > 0;
    },
    async connect(c) {
      // The foreign key on (org_id, channel_id) refuses a channel of another organization.
      await query(
        pool,
        `INSERT INTO channel_connections (org_id, channel_id, client_type, client_id, publish,
           subscribe, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (org_id, channel_id, client_type, client_id) DO UPDATE SET
           publish = excluded.publish, subscribe = excluded.subscribe,
           created_at = excluded.created_at`,
        [c.orgId, c.channelId, c.clientType, c.clientId, c.publish, c.subscribe, c.createdAt],
      );
    },
    async disconnect(orgId, channelId, clientType, clientId) {
      const r = await query(
        pool,
        `DELETE FROM channel_connections
         WHERE org_id = $1 AND channel_id = $2 AND client_type = $3 AND client_id = $4`,
        [orgId, channelId, clientType, clientId],
      );
      return r.rowCount > 0;
    },
    async listConnections(orgId, channelId) {
      const r = await query<ConnectionRow<PgColumns>>(
        pool,
        `SELECT * FROM channel_connections WHERE org_id = $1 AND channel_id = $2
         ORDER BY client_type, client_id`,
        [orgId, channelId],
      );
      return r.rows.map(toConnection);
    },
    async getConnection(orgId, channelId, clientType, clientId) {
      const r = await query<ConnectionRow<PgColumns>>(
        pool,
        `SELECT * FROM channel_connections
         WHERE org_id = $1 AND channel_id = $2 AND client_type = $3 AND client_id = $4`,
        [orgId, channelId, clientType, clientId],
      );
      return r.rows[0] && toConnection(r.rows[0]);
    },
    async listForClient(orgId, clientType, clientId) {
      const r = await query<ConnectionRow<PgColumns>>(
        pool,
        `SELECT * FROM channel_connections
         WHERE org_id = $1 AND client_type = $2 AND client_id = $3 ORDER BY channel_id`,
        [orgId, clientType, clientId],
      );
      return r.rows.map(toConnection);
    },
    async listWithRetention() {
      const r = await query<ChannelRow<PgColumns>>(
        pool,
        'SELECT * FROM channels WHERE retention_days IS NOT NULL ORDER BY id',
      );
      return r.rows.map(toChannel);
    },
  };
}
