import type { Pool, QueryResultRow } from 'pg';
import type { DetectStore } from '@bulwark/core';
import { createDetectStore } from '@bulwark/store-sql';
import { query } from './db.js';

/** `?` placeholders → `$1, $2 …` (the shared statements carry no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The detection engine's tables (decision 0034) on a pg Pool: store-sql's statements. */
export function createPostgresDetectStore(pool: Pool): DetectStore {
  return createDetectStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return (await query<QueryResultRow>(pool, numbered(sql), params)).rows as R[];
    },
    async run(sql, params) {
      return (await query(pool, numbered(sql), params)).rowCount;
    },
  });
}
