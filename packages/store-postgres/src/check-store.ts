import type { Pool, QueryResultRow } from 'pg';
import type { AuditCheckStore } from '@bulwark/core';
import { createAuditCheckStore } from '@bulwark/store-sql';
import { query } from './db.js';

/** `?` placeholders → `$1, $2 …` (the shared statements carry no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The fleet audit checks' tables (decision 0031) on a pg Pool: store-sql's statements. */
export function createPostgresCheckStore(pool: Pool): AuditCheckStore {
  return createAuditCheckStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return (await query<QueryResultRow>(pool, numbered(sql), params)).rows as R[];
    },
    async run(sql, params) {
      return (await query(pool, numbered(sql), params)).rowCount;
    },
  });
}
