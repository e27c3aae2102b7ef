import type { Pool } from 'pg';
import type { Organization, OrganizationStore } from '@bulwark/core';
import { toOrg, type OrgRow } from '@bulwark/store-sql';
import { query, transaction, type Queryable } from './db.js';
import { insertMembership } from './membership-store.js';
import { insertUser } from './user-store.js';

const insertOrg = async (db: Queryable, org: Organization): Promise<void> => {
  await query(db, 'INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)', [
    org.id,
    org.name,
    org.createdAt,
  ]);
};

/** The organizations table behind the OrganizationStore port. */
export function createOrganizationStore(pool: Pool): OrganizationStore {
  return {
    async create(org) {
      await insertOrg(pool, org);
    },
    async bootstrap(org, user, membership) {
      await transaction(pool, async (c) => {
        await insertOrg(c, org);
        await insertUser(c, user);
        await insertMembership(c, membership);
      });
    },
    async get(id) {
      const r = await query<OrgRow>(pool, 'SELECT * FROM organizations WHERE id = $1', [id]);
      return r.rows[0] && toOrg(r.rows[0]);
    },
    async listByIds(ids) {
      if (ids.length === 0) return [];
      const r = await query<OrgRow>(
        pool,
        'SELECT * FROM organizations WHERE id = ANY($1::text[]) ORDER BY id',
        [ids],
      );
      return r.rows.map(toOrg);
    },
    async list(limit) {
      const r = await query<OrgRow>(pool, 'SELECT * FROM organizations ORDER BY id LIMIT $1', [
        limit,
      ]);
      return r.rows.map(toOrg);
    },
    async count() {
      const r = await query<{ n: number }>(pool, 'SELECT count(*) AS n FROM organizations');
      return r.rows[0]?.n ?? 0;
    },
  };
}
