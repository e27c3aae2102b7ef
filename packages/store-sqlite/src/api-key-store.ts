import type { Database } from 'better-sqlite3';
import type { ApiKey, ApiKeyStore } from '@bulwark/core';
import { parseStrings } from './codec.js';

interface ApiKeyRow {
  id: string;
  org_id: string;
  name: string;
  secret_hash: string;
  permissions: string;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  secretHash: r.secret_hash,
  permissions: parseStrings(r.permissions),
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

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
        ApiKeyRow | undefined;
      return row && toApiKey(row);
    },
    async list(orgId) {
      const rows = db
        .prepare('SELECT * FROM api_keys WHERE org_id = ? ORDER BY id DESC')
        .all(orgId) as ApiKeyRow[];
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
