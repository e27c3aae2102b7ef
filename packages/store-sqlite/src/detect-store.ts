import type { Database } from 'better-sqlite3';
import type { DetectStore } from '@bulwark/core';
import { createDetectStore } from '@bulwark/store-sql';

/** The detection engine's tables (decision 0034) on better-sqlite3: store-sql's statements. */
export function createSqliteDetectStore(db: Database): DetectStore {
  return createDetectStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return db.prepare(sql).all(...params) as R[];
    },
    async run(sql, params) {
      return db.prepare(sql).run(...params).changes;
    },
  });
}
