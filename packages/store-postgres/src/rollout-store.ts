import type { Pool, QueryResultRow } from 'pg';
import { createRolloutStores, type RolloutStores } from '@bulwark/store-sql';
import { query } from './db.js';

/** `?` placeholders → `$1, $2 …` (the shared statements carry no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The rollout and firmware-policy tables on a pg Pool: the shared statements of store-sql. */
export function createPostgresRolloutStores(pool: Pool): RolloutStores {
  return createRolloutStores({
    async all<R>(sql: string, params: readonly unknown[]) {
      return (await query<QueryResultRow>(pool, numbered(sql), params)).rows as R[];
    },
    async run(sql, params) {
      return (await query(pool, numbered(sql), params)).rowCount;
    },
  });
}
