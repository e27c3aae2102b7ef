import type { Database } from 'better-sqlite3';
import type { UpdateJobStore } from '@bulwark/core';
import { createUpdateJobStore } from '@bulwark/store-sql';

/** Firmware update jobs (migration 7) on better-sqlite3: the shared statements of store-sql. */
export function createSqliteUpdateJobStore(db: Database): UpdateJobStore {
  return createUpdateJobStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return db.prepare(sql).all(...params) as R[];
    },
    async run(sql, params) {
      return db.prepare(sql).run(...params).changes;
    },
  });
}
