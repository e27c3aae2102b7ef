import type { Database } from 'better-sqlite3';
import type { Membership, MembershipStore } from '@bulwark/core';
import { toMembershipWith, type MembershipRow } from '@bulwark/store-sql';
import { SQLITE_COLUMNS, type SqliteColumns } from './codec.js';

const toMembership = toMembershipWith(SQLITE_COLUMNS);

/** Inserts or replaces a membership row (shared with the organization bootstrap transaction). */
export function insertMembership(db: Database, m: Membership): void {
  db.prepare(
    `INSERT INTO memberships (org_id, user_id, role, grants, scoped_grants, created_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role, grants = excluded.grants,
       scoped_grants = excluded.scoped_grants, created_at = excluded.created_at`,
  ).run(
    m.orgId,
    m.userId,
    m.role,
    JSON.stringify(m.grants),
    JSON.stringify(m.scopedGrants ?? []),
    m.createdAt,
  );
}

/** The memberships table behind the MembershipStore port. */
export function createMembershipStore(db: Database): MembershipStore {
  return {
    async put(membership) {
      insertMembership(db, membership);
    },
    async get(orgId, userId) {
      const row = db
        .prepare('SELECT * FROM memberships WHERE org_id = ? AND user_id = ?')
        .get(orgId, userId) as MembershipRow<SqliteColumns> | undefined;
      return row && toMembership(row);
    },
    async listByUser(userId) {
      const rows = db
        .prepare('SELECT * FROM memberships WHERE user_id = ? ORDER BY org_id')
        .all(userId) as MembershipRow<SqliteColumns>[];
      return rows.map(toMembership);
    },
    async listByOrg(orgId) {
      const rows = db
        .prepare('SELECT * FROM memberships WHERE org_id = ? ORDER BY user_id')
        .all(orgId) as MembershipRow<SqliteColumns>[];
      return rows.map(toMembership);
    },
    async remove(orgId, userId) {
      return (
        db.prepare('DELETE FROM memberships WHERE org_id = ? AND user_id = ?').run(orgId, userId)
          .changes > 0
      );
    },
  };
}
