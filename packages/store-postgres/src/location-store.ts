import type { Pool } from 'pg';
import type { Location, LocationKind, LocationStore } from '@bulwark/core';
import { query } from './db.js';

interface LocationRow {
  id: string;
  org_id: string;
  parent_id: string | null;
  kind: string;
  name: string;
  created_at: number;
}

const toLocation = (r: LocationRow): Location => ({
  id: r.id,
  orgId: r.org_id,
  parentId: r.parent_id,
  kind: r.kind as LocationKind,
  name: r.name,
  createdAt: r.created_at,
});

/** The locations table behind the LocationStore port (core checks the tree's shape). */
export function createLocationStore(pool: Pool): LocationStore {
  const get = async (orgId: string, id: string): Promise<Location | undefined> => {
    const r = await query<LocationRow>(
      pool,
      'SELECT * FROM locations WHERE org_id = $1 AND id = $2',
      [orgId, id],
    );
    return r.rows[0] && toLocation(r.rows[0]);
  };
  return {
    async create(l) {
      await query(
        pool,
        `INSERT INTO locations (id, org_id, parent_id, kind, name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [l.id, l.orgId, l.parentId, l.kind, l.name, l.createdAt],
      );
    },
    get,
    async list(orgId) {
      const r = await query<LocationRow>(
        pool,
        'SELECT * FROM locations WHERE org_id = $1 ORDER BY id',
        [orgId],
      );
      return r.rows.map(toLocation);
    },
    async update(orgId, id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      if (patch.name !== undefined) {
        values.push(patch.name);
        sets.push(`name = $${values.length}`);
      }
      if (patch.parentId !== undefined) {
        values.push(patch.parentId);
        sets.push(`parent_id = $${values.length}`);
      }
      if (sets.length === 0) return get(orgId, id);
      values.push(orgId, id);
      const r = await query<LocationRow>(
        pool,
        `UPDATE locations SET ${sets.join(', ')}
         WHERE org_id = $${values.length - 1} AND id = $${values.length} RETURNING *`,
        values,
      );
      return r.rows[0] && toLocation(r.rows[0]);
    },
    async delete(orgId, id) {
      const r = await query(pool, 'DELETE FROM locations WHERE org_id = $1 AND id = $2', [
        orgId,
        id,
      ]);
      return r.rowCount > 0;
    },
  };
}
