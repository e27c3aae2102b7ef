import type { Database } from 'better-sqlite3';
import type { Location, LocationStore } from '@bulwark/core';
import { toLocation, type LocationRow } from '@bulwark/store-sql';

/** The locations table behind the LocationStore port (core checks the tree's shape). */
export function createLocationStore(db: Database): LocationStore {
  const get = (orgId: string, id: string): Location | undefined => {
    const row = db.prepare('SELECT * FROM locations WHERE org_id = ? AND id = ?').get(orgId, id) as
      LocationRow | undefined;
    return row && toLocation(row);
  };
  return {
    async create(l) {
      db.prepare(
        `INSERT INTO locations (id, org_id, parent_id, kind, name, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(l.id, l.orgId, l.parentId, l.kind, l.name, l.createdAt);
    },
    async get(orgId, id) {
      return get(orgId, id);
    },
    async list(orgId) {
      const rows = db
        .prepare('SELECT * FROM locations WHERE org_id = ? ORDER BY id')
        .all(orgId) as LocationRow[];
      return rows.map(toLocation);
    },
    async update(orgId, id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      if (patch.name !== undefined) {
        sets.push('name = ?');
        values.push(patch.name);
      }
      if (patch.parentId !== undefined) {
        sets.push('parent_id = ?');
        values.push(patch.parentId);
      }
      if (sets.length === 0) return get(orgId, id);
      const row = db
        .prepare(`UPDATE locations SET ${sets.join(', ')} WHERE org_id = ? AND id = ? RETURNING *`)
        .get(...values, orgId, id) as LocationRow | undefined;
      return row && toLocation(row);
    },
    async delete(orgId, id) {
      return (
        db.prepare('DELETE FROM locations WHERE org_id = ? AND id = ?').run(orgId, id).changes > 0
      );
    },
  };
}
