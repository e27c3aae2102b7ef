import type { Pool } from 'pg';
import type { ApiKeyStore } from '@bulwark/core';
import { toApiKeyWith, type ApiKeyRow } from '@bulwark/store-sql';
import { PG_COLUMNS, type PgColumns } from './codec.js';
import { query } from './db.js';

const toApiKey = toApiKeyWith(PG_COLUMNS);

/** The api_keys table behind the ApiKeyStore port. */
export function createApiKeyStore(pool: Pool): ApiKeyStore {
  return {
    async create(k) {
      await query(
        pool,
        `INSERT INTO api_keys (id, org_id, name, secret_hash, permissions, created_by, created_at,
           expires_at, last_used_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9, $10)`,
        [
          k.id,
          k.orgId,
          k.name,
          k.secretHash,
          k.permissions,
          k.createdBy,
          k.createdAt,
          k.expiresAt,
          k.lastUsedAt,
          k.revokedAt,
        ],
      );
    },
    async get(id) {
      const r = await query<ApiKeyRow<PgColumns>>(pool, 'SELECT * FROM api_keys WHERE id = $1', [
        id,
      ]);
      return r.rows[0] && toApiKey(r.rows[0]);
    },
    async list(orgId) {
      const r = await query<ApiKeyRow<PgColumns>>(
        pool,
        'SELECT * FROM api_keys WHERE org_id = $1 ORDER BY id DESC',
        [orgId],
      );
      return r.rows.map(toApiKey);
    },
    async revoke(orgId, id, at) {
      const r = await query(
        pool,
        'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL',
        [at, orgId, id],
      );
      return r.rowCount > 0;
    },
    async touch(id, at) {
      await query(pool, 'UPDATE api_keys SET last_used_at = $1 WHERE id = $2', [at, id]);
    },
  };
}
