import type { Pool } from 'pg';
import type { Location, LocationStore } from '@bulwark/core';
import { toLocation, type LocationRow } from '@bulwark/store-sql';
import { query } from './db.js';

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
