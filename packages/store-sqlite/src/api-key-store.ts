import type { Database } from 'better-sqlite3';
import type { ApiKeyStore } from '@bulwark/core';
import { toApiKeyWith, type ApiKeyRow } from '@bulwark/store-sql';
import { SQLITE_COLUMNS, type SqliteColumns } from './codec.js';

const toApiKey = toApiKeyWith(SQLITE_COLUMNS);

/** The api_keys table behind the ApiKeyStore port. */
export function createApiKeyStore(db: Database): ApiKeyStore {
  return {
    async create(k) {
      db.prepare(
        `INSERT INTO api_keys (id, org_id, name, secret_hash, permissions, created_by, created_at,
           expires_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        k.id,
        k.orgId,
        k.name,
        k.secretHash,
        JSON.stringify(k.permissions),
        k.createdBy,
        k.createdAt,
        k.expiresAt,
        k.lastUsedAt,
        k.revokedAt,
      );
    },
    async get(id) {
      const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as
        ApiKeyRow<SqliteColumns> | undefined;
      return row && toApiKey(row);
    },
    async list(orgId) {
      const rows = db
        .prepare('SELECT * FROM api_keys WHERE org_id = ? ORDER BY id DESC')
        .all(orgId) as ApiKeyRow<SqliteColumns>[];
      return rows.map(toApiKey);
    },
    async revoke(orgId, id, at) {
      return (
        db
          .prepare(
            'UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL',
          )
          .run(at, orgId, id).changes > 0
      );
    },
    async touch(id, at) {
      db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
    },
  };
}
