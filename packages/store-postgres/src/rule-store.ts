import type { Pool, QueryResultRow } from 'pg';
import type { RuleStore } from '@bulwark/core';
import { createRuleStore } from '@bulwark/store-sql';
import { query } from './db.js';

/** `?` placeholders → `$1, $2 …` (the shared statements carry no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The rules on telemetry table (decision 0035) on a pg Pool: store-sql's statements. */
export function createPostgresRuleStore(pool: Pool): RuleStore {
  return createRuleStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return (await query<QueryResultRow>(pool, numbered(sql), params)).rows as R[];
    },
    async run(sql, params) {
      return (await query(pool, numbered(sql), params)).rowCount;
    },
  });
}
