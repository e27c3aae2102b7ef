import type { Database } from 'better-sqlite3';
import type { RefreshSession, SessionStore } from '@bulwark/core';
import { LIVE_SESSION_SQL, toSession, type SessionRow } from '@bulwark/store-sql';

/** The refresh_sessions table behind the SessionStore port. */
export function createSessionStore(db: Database): SessionStore {
  const insert = db.prepare(
    `INSERT INTO refresh_sessions (id, user_id, org_id, token_hash, created_at, expires_at,
       revoked_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertSession = (s: RefreshSession): void => {
    insert.run(
      s.id,
      s.userId,
      s.orgId,
      s.tokenHash,
      s.createdAt,
      s.expiresAt,
      s.revokedAt,
      s.replacedBy,
    );
  };
  // The conditional UPDATE is the reuse check: only one rotation of a session can win.
  const rotate = db.transaction((oldId: string, next: RefreshSession, at: number): boolean => {
    const changed = db
      .prepare(
        `UPDATE refresh_sessions SET revoked_at = ?, replaced_by = ?
         WHERE id = ? AND revoked_at IS NULL`,
      )
      .run(at, next.id, oldId).changes;
    if (changed === 0) return false;
    insertSession(next);
    return true;
  });
  return {
    async create(session) {
      insertSession(session);
    },
    async getByTokenHash(tokenHash) {
      const row = db
        .prepare('SELECT * FROM refresh_sessions WHERE token_hash = ?')
        .get(tokenHash) as SessionRow | undefined;
      return row && toSession(row);
    },
    async rotate(oldId, next, at) {
      return rotate.immediate(oldId, next, at);
    },
    async revoke(id, at) {
      db.prepare(
        'UPDATE refresh_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
      ).run(at, id);
    },
    async revokeAllForUser(userId, at, exceptId) {
      // Live = neither revoked nor expired at `at`; expired sessions are dead already.
      return db
        .prepare(
          `UPDATE refresh_sessions SET revoked_at = ?
           WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND id IS NOT ?`,
        )
        .run(at, userId, at, exceptId ?? null).changes;
    },
    async liveSuccessor(id, at) {
      const row = db.prepare(LIVE_SESSION_SQL).get(id, at) as SessionRow | undefined;
      return row && toSession(row);
    },
  };
}
