import type { Database } from 'better-sqlite3';
import type { Membership, Organization, OrganizationStore, User } from '@bulwark/core';
import { toOrg, type OrgRow } from '@bulwark/store-sql';
import { mapUnique } from './errors.js';
import { insertMembership } from './membership-store.js';
import { insertUser } from './user-store.js';

/** The organizations table behind the OrganizationStore port. */
export function createOrganizationStore(db: Database): OrganizationStore {
  const insert = db.prepare('INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)');
  const insertOrg = (org: Organization): void => {
    insert.run(org.id, org.name, org.createdAt);
  };
  const bootstrap = db.transaction((org: Organization, user: User, membership: Membership) => {
    insertOrg(org);
    insertUser(db, user);
    insertMembership(db, membership);
  });
  return {
    async create(org) {
      mapUnique(() => insertOrg(org));
    },
    async bootstrap(org, user, membership) {
      mapUnique(() => bootstrap.immediate(org, user, membership));
    },
    async get(id) {
      const row = db.prepare('SELECT * FROM organizations WHERE id = ?').get(id) as
        OrgRow | undefined;
      return row && toOrg(row);
    },
    async listByIds(ids) {
      if (ids.length === 0) return [];
      const rows = db
        .prepare(
          'SELECT * FROM organizations WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id',
        )
        .all(JSON.stringify(ids)) as OrgRow[];
      return rows.map(toOrg);
    },
    async list(limit) {
      const rows = db
        .prepare('SELECT * FROM organizations ORDER BY id LIMIT ?')
        .all(limit) as OrgRow[];
      return rows.map(toOrg);
    },
    async count() {
      return (db.prepare('SELECT count(*) AS n FROM organizations').get() as { n: number }).n;
    },
  };
}
