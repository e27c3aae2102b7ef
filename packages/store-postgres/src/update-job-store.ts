import type { Pool, QueryResultRow } from 'pg';
import type { UpdateJobStore } from '@bulwark/core';
import { createUpdateJobStore } from '@bulwark/store-sql';
import { query } from './db.js';

/** `?` placeholders → `$1, $2 …` (the shared statements carry no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Firmware update jobs (migration 7) on a pg Pool: the shared statements of store-sql. */
export function createPostgresUpdateJobStore(pool: Pool): UpdateJobStore {
  return createUpdateJobStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return (await query<QueryResultRow>(pool, numbered(sql), params)).rows as R[];
    },
    async run(sql, params) {
      return (await query(pool, numbered(sql), params)).rowCount;
    },
  });
}
