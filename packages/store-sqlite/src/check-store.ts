import type { Database } from 'better-sqlite3';
import type { AuditCheckStore } from '@bulwark/core';
import { createAuditCheckStore } from '@bulwark/store-sql';

/** The fleet audit checks' tables (decision 0031) on better-sqlite3: store-sql's statements. */
export function createSqliteCheckStore(db: Database): AuditCheckStore {
  return createAuditCheckStore({
    async all<R>(sql: string, params: readonly unknown[]) {
      return db.prepare(sql).all(...params) as R[];
    },
    async run(sql, params) {
      return db.prepare(sql).run(...params).changes;
    },
  });
}
