import type { Database } from 'better-sqlite3';
import type {
  DeviceLogStore,
  MitigationStore,
  SavedViewStore,
  MetricsHistoryStore,
} from '@bulwark/core';
import {
  createDeviceLogStore,
  createMitigationStore,
  createSavedViewStore,
  createMetricsHistoryStore,
  createManagementStores,
  type ManagementStores,
  type SqlRunner,
} from '@bulwark/store-sql';

/** The shared statements of store-sql, run synchronously on the one connection. */
function sqliteRunner(db: Database): SqlRunner {
  return {
    async all<R>(sql: string, params: readonly unknown[]) {
      return db.prepare(sql).all(...params) as R[];
    },
    async run(sql, params) {
      return db.prepare(sql).run(...params).changes;
    },
  };
}

/**
 * The device-management tables (twins, commands, presence, events, alerts) on better-sqlite3: the
 * shared statements of store-sql, run synchronously on the one connection.
 */
export function createSqliteManagementStores(db: Database): ManagementStores {
  return createManagementStores(sqliteRunner(db));
}

/** Central device logs (migration 17, decision 0032) on the same connection. */
export function createSqliteDeviceLogStore(db: Database): DeviceLogStore {
  return createDeviceLogStore(sqliteRunner(db));
}

/** Mitigation policies and actions (migration 21, decision 0036). */
export function createSqliteMitigationStore(db: Database): MitigationStore {
  return createMitigationStore(sqliteRunner(db));
}

/** Saved fleet views (migration 26, decision 0038 amendment). */
export function createSqliteSavedViewStore(db: Database): SavedViewStore {
  return createSavedViewStore(sqliteRunner(db));
}

/** Devices' health history (migration 27, decision 0038 amendment). */
export function createSqliteMetricsHistoryStore(db: Database): MetricsHistoryStore {
  return createMetricsHistoryStore(sqliteRunner(db));
}
