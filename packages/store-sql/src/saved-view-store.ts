import type { SavedView, SavedViewStore } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';

/** The `saved_views` table (migration 26): one row per (organization, owner, name). */
export function savedViewSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE saved_views (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  owner_id ${idText} NOT NULL,
  name text NOT NULL,
  query text NOT NULL,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL
);
CREATE UNIQUE INDEX saved_views_owner_name ON saved_views (org_id, owner_id, name);
`;
}

interface Row {
  id: string;
  org_id: string;
  owner_id: string;
  name: string;
  query: string;
  created_at: number | string;
  updated_at: number | string;
}

const toView = (r: Row): SavedView => ({
  id: r.id,
  orgId: r.org_id,
  ownerId: r.owner_id,
  name: r.name,
  query: JSON.parse(r.query) as SavedView['query'],
  // PostgreSQL returns bigint columns as strings.
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** Saved fleet views on a dialect's runner (the same statements in SQLite and PostgreSQL). */
export function createSavedViewStore(db: SqlRunner): SavedViewStore {
  return {
    async list(orgId, ownerId) {
      const rows = await db.all<Row>(
        'SELECT * FROM saved_views WHERE org_id = ? AND owner_id = ? ORDER BY name, id',
        [orgId, ownerId],
      );
      return rows.map(toView);
    },
    async save(v) {
      // One statement: a concurrent save of the same name replaces, never duplicates.
      const rows = await db.all<Row>(
        `INSERT INTO saved_views (id, org_id, owner_id, name, query, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id, owner_id, name)
         DO UPDATE SET query = excluded.query, updated_at = excluded.updated_at
         RETURNING *`,
        [v.id, v.orgId, v.ownerId, v.name, JSON.stringify(v.query), v.createdAt, v.updatedAt],
      );
      return toView(rows[0]!);
    },
    async delete(orgId, ownerId, id) {
      return (
        (await db.run('DELETE FROM saved_views WHERE org_id = ? AND owner_id = ? AND id = ?', [
          orgId,
          ownerId,
          id,
        ])) > 0
      );
    },
  };
}
