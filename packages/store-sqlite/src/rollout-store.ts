import type { Database } from 'better-sqlite3';
import { createRolloutStores, type RolloutStores } from '@bulwark/store-sql';

/** The rollout and firmware-policy tables on better-sqlite3: the shared statements of store-sql. */
export function createSqliteRolloutStores(db: Database): RolloutStores {
  return createRolloutStores({
    async all<R>(sql: string, params: readonly unknown[]) {
      return db.prepare(sql).all(...params) as R[];
    },
    async run(sql, params) {
      return db.prepare(sql).run(...params).changes;
    },
  });
}
