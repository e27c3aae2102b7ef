import type { Pool, QueryResultRow } from 'pg';
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
import { query } from './db.js';

/** `?` placeholders → `$1, $2 …` (the shared statements carry no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The shared statements of store-sql with PostgreSQL's numbered placeholders, on the pool. */
function postgresRunner(pool: Pool): SqlRunner {
  return {
    async all<R>(sql: string, params: readonly unknown[]) {
      return (await query<QueryResultRow>(pool, numbered(sql), params)).rows as R[];
    },
    async run(sql, params) {
      return (await query(pool, numbered(sql), params)).rowCount;
    },
  };
}

/**
 * The device-management tables (twins, commands, presence, events, alerts) on a pg Pool: the
 * shared statements of store-sql with PostgreSQL's numbered placeholders.
 */
export function createPostgresManagementStores(pool: Pool): ManagementStores {
  return createManagementStores(postgresRunner(pool));
}

/** Central device logs (migration 17, decision 0032) on the pool. */
export function createPostgresDeviceLogStore(pool: Pool): DeviceLogStore {
  return createDeviceLogStore(postgresRunner(pool));
}

/** Mitigation policies and actions (migration 21, decision 0036). */
export function createPostgresMitigationStore(pool: Pool): MitigationStore {
  return createMitigationStore(postgresRunner(pool));
}

/** Saved fleet views (migration 26, decision 0038 amendment). */
export function createPostgresSavedViewStore(pool: Pool): SavedViewStore {
  return createSavedViewStore(postgresRunner(pool));
}

/** Devices' health history (migration 27, decision 0038 amendment). */
export function createPostgresMetricsHistoryStore(pool: Pool): MetricsHistoryStore {
  return createMetricsHistoryStore(postgresRunner(pool));
}
