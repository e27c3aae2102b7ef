import type { Pool } from 'pg';
import type { SystemStore } from '@bulwark/core';
import { query } from './db.js';

/** The system_kv table behind the SystemStore port; each compare-and-set is one statement. */
export function createSystemStore(pool: Pool): SystemStore {
  return {
    async get(key) {
      const r = await query<{ value: string }>(pool, 'SELECT value FROM system_kv WHERE key = $1', [
        key,
      ]);
      return r.rows[0]?.value;
    },
    async put(key, value) {
      await query(
        pool,
        `INSERT INTO system_kv (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [key, value],
      );
    },
    async compareAndSet(key, expected, next) {
      if (expected === undefined && next === undefined) {
        const r = await query(pool, 'SELECT 1 FROM system_kv WHERE key = $1', [key]);
        return r.rowCount === 0;
      }
      if (expected === undefined) {
        const r = await query(
          pool,
          'INSERT INTO system_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
          [key, next],
        );
        return r.rowCount > 0;
      }
      if (next === undefined) {
        const r = await query(pool, 'DELETE FROM system_kv WHERE key = $1 AND value = $2', [
          key,
          expected,
        ]);
        return r.rowCount > 0;
      }
      const r = await query(pool, 'UPDATE system_kv SET value = $1 WHERE key = $2 AND value = $3', [
        next,
        key,
        expected,
      ]);
      return r.rowCount > 0;
    },
  };
}
