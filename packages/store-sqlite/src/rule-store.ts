import type { Database } from 'better-sqlite3';
import type { RuleStore } from '@bulwark/core';
import { createRuleStore } from '@bulwark/store-sql';

/** The rules on telemetry table (decision 0035) on better-sqlite3: store-sql's statements. */
export function createSqliteRuleStore(db: Database): RuleStore {
  return createRuleStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return db.prepare(sql).all(...params) as R[];
    },
    async run(sql, params) {
      return db.prepare(sql).run(...params).changes;
    },
  });
}
