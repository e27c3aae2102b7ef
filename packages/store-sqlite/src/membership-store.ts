import type { Database } from 'better-sqlite3';
import type { Membership, MembershipStore, Role } from '@bulwark/core';
import { parseStrings } from './codec.js';

interface MembershipRow {
  org_id: string;
  user_id: string;
  role: string;
  grants: string;
  created_at: number;
}

const toMembership = (r: MembershipRow): Membership => ({
  orgId: r.org_id,
  userId: r.user_id,
  role: r.role as Role,
  grants: parseStrings(r.grants),
  createdAt: r.created_at,
});

/** Inserts or replaces a membership row (shared with the organization bootstrap transaction). */
export function insertMembership(db: Database, m: Membership): void {
  db.prepare(
    `INSERT INTO memberships (org_id, user_id, role, grants, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role, grants = excluded.grants,
       created_at = excluded.created_at`,
  ).run(m.orgId, m.userId, m.role, JSON.stringify(m.grants), m.createdAt);
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
        .get(orgId, userId) as MembershipRow | undefined;
      return row && toMembership(row);
    },
    async listByUser(userId) {
      const rows = db
        .prepare('SELECT * FROM memberships WHERE user_id = ? ORDER BY org_id')
        .all(userId) as MembershipRow[];
      return rows.map(toMembership);
    },
    async listByOrg(orgId) {
      const rows = db
        .prepare('SELECT * FROM memberships WHERE org_id = ? ORDER BY user_id')
        .all(orgId) as MembershipRow[];
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
