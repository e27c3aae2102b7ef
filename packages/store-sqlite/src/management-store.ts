import type { Database } from 'better-sqlite3';
import { createManagementStores, type ManagementStores } from '@bulwark/store-sql';

/**
 * The device-management tables (twins, commands, presence, events, alerts) on better-sqlite3: the
 * shared statements of store-sql, run synchronously on the one connection.
 */
export function createSqliteManagementStores(db: Database): ManagementStores {
  return createManagementStores({
    async all<R>(sql: string, params: readonly unknown[]) {
      return db.prepare(sql).all(...params) as R[];
    },
    async run(sql, params) {
      return db.prepare(sql).run(...params).changes;
    },
  });
}
