import type { Pool } from 'pg';
import type { RefreshSession, SessionStore } from '@bulwark/core';
import { LIVE_SESSION_SQL, toSession, type SessionRow } from '@bulwark/store-sql';
import { query, transaction, type Queryable } from './db.js';

const insertSession = async (db: Queryable, s: RefreshSession): Promise<void> => {
  await query(
    db,
    `INSERT INTO refresh_sessions (id, user_id, org_id, token_hash, created_at, expires_at,
       revoked_at, replaced_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [s.id, s.userId, s.orgId, s.tokenHash, s.createdAt, s.expiresAt, s.revokedAt, s.replacedBy],
  );
};

/** The refresh_sessions table behind the SessionStore port. */
export function createSessionStore(pool: Pool): SessionStore {
  return {
    async create(session) {
      await insertSession(pool, session);
    },
    async getByTokenHash(tokenHash) {
      const r = await query<SessionRow>(
        pool,
        'SELECT * FROM refresh_sessions WHERE token_hash = $1',
        [tokenHash],
      );
      return r.rows[0] && toSession(r.rows[0]);
    },
    async rotate(oldId, next, at) {
      return transaction(pool, async (c) => {
        // A racing rotation blocks on the row lock, then re-checks revoked_at and updates nothing.
        const r = await query(
          c,
          `UPDATE refresh_sessions SET revoked_at = $1, replaced_by = $2
           WHERE id = $3 AND revoked_at IS NULL`,
          [at, next.id, oldId],
        );
        if (r.rowCount === 0) return false;
        await insertSession(c, next);
        return true;
      });
    },
    async revoke(id, at) {
      await query(
        pool,
        'UPDATE refresh_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
        [at, id],
      );
    },
    async revokeAllForUser(userId, at, exceptId) {
      // Live = neither revoked nor expired at `at`; expired sessions are dead already.
      const r = await query(
        pool,
        `UPDATE refresh_sessions SET revoked_at = $1
         WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1
           AND id IS DISTINCT FROM $3`,
        [at, userId, exceptId ?? null],
      );
      return r.rowCount;
    },
    async liveSuccessor(id, at) {
      let n = 0;
      const r = await query<SessionRow>(
        pool,
        LIVE_SESSION_SQL.replace(/\?/g, () => `$${++n}`),
        [id, at],
      );
      return r.rows[0] && toSession(r.rows[0]);
    },
  };
}
