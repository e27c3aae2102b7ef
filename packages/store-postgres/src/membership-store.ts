import type { Pool } from 'pg';
import type { Membership, MembershipStore } from '@bulwark/core';
import { toMembershipWith, type MembershipRow } from '@bulwark/store-sql';
import { PG_COLUMNS, type PgColumns } from './codec.js';
import { query, type Queryable } from './db.js';

const toMembership = toMembershipWith(PG_COLUMNS);

/** Inserts or replaces a membership row (shared with the organization bootstrap transaction). */
export async function insertMembership(db: Queryable, m: Membership): Promise<void> {
  await query(
    db,
    `INSERT INTO memberships (org_id, user_id, role, grants, scoped_grants, created_at)
     VALUES ($1, $2, $3, $4::text[], $5, $6)
     ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role, grants = excluded.grants,
       scoped_grants = excluded.scoped_grants, created_at = excluded.created_at`,
    [m.orgId, m.userId, m.role, m.grants, JSON.stringify(m.scopedGrants ?? []), m.createdAt],
  );
}

/** The memberships table behind the MembershipStore port. */
export function createMembershipStore(pool: Pool): MembershipStore {
  return {
    async put(membership) {
      await insertMembership(pool, membership);
    },
    async get(orgId, userId) {
      const r = await query<MembershipRow<PgColumns>>(
        pool,
        'SELECT * FROM memberships WHERE org_id = $1 AND user_id = $2',
        [orgId, userId],
      );
      return r.rows[0] && toMembership(r.rows[0]);
    },
    async listByUser(userId) {
      const r = await query<MembershipRow<PgColumns>>(
        pool,
        'SELECT * FROM memberships WHERE user_id = $1 ORDER BY org_id',
        [userId],
      );
      return r.rows.map(toMembership);
    },
    async listByOrg(orgId) {
      const r = await query<MembershipRow<PgColumns>>(
        pool,
        'SELECT * FROM memberships WHERE org_id = $1 ORDER BY user_id',
        [orgId],
      );
      return r.rows.map(toMembership);
    },
    async remove(orgId, userId) {
      const r = await query(pool, 'DELETE FROM memberships WHERE org_id = $1 AND user_id = $2', [
        orgId,
        userId,
      ]);
      return r.rowCount > 0;
    },
  };
}
