/**
 * @bulwark/store-postgres: the scale-out storage adapter on PostgreSQL, through a `pg` Pool.
 */
import pg from 'pg';
import type { Durability, Storage } from '@bulwark/core';
import { createApiKeyStore } from './api-key-store.js';
import { createAuditStore } from './audit-store.js';
import { createChannelStore } from './channel-store.js';
import { createDeviceKeyStore } from './device-key-store.js';
import { createDeviceStore } from './device-store.js';
import { createLocationStore } from './location-store.js';
import {
  createPostgresManagementStores,
  createPostgresDeviceLogStore,
  createPostgresMitigationStore,
  createPostgresSavedViewStore,
  createPostgresMetricsHistoryStore,
} from './management-store.js';
import { createPostgresUpdateJobStore } from './update-job-store.js';
import { createPostgresRolloutStores } from './rollout-store.js';
import { createMembershipStore } from './membership-store.js';
import { createMessageStore } from './message-store.js';
import { createMqttStateStore } from './mqtt-state-store.js';
import { migrate } from './migrations.js';
import { createOrganizationStore } from './organization-store.js';
import { createPostgresProvisioningStore } from './provisioning-store.js';
import { createPkiStore } from './pki-store.js';
import { createSessionStore } from './session-store.js';
import { createSystemStore } from './system-store.js';
import { createTicketStore } from './ticket-store.js';
import { createFirmwareStore } from './firmware-store.js';
import { createUserStore } from './user-store.js';
import { createPostgresCheckStore } from './check-store.js';
import { createPostgresRuleStore } from './rule-store.js';
import { createPostgresDetectStore } from './detect-store.js';

export { MIGRATIONS, type Migration } from './migrations.js';

/** Options of openPostgresStorage. */
export interface PostgresStorageOptions {
  /** A libpq-style connection URL, e.g. `postgres://user@host:5432/db`. */
  url: string;
  /** The schema holding Bulwark's tables (default 'public'); created if missing. */
  schema?: string;
  /** Pool size (default 10). */
  max?: number;
  /**
   * What a commit survives (decision 0019), set as every pooled session's `synchronous_commit`:
   * 'normal' (default) is `off` — COMMIT returns before the WAL is flushed, so a crash of the hub
   * loses nothing but a crash of the database server or its machine may lose the last moments
   * (at most 3 × wal_writer_delay); 'full' is `on` and waits for the flush (and for synchronous
   * standbys, where configured).
   */
  durability?: Durability;
}

const SYNCHRONOUS_COMMIT: Readonly<Record<Durability, string>> = { normal: 'off', full: 'on' };

/** PostgreSQL's type oid of int8 (BIGINT, and the result of count(*)). */
const INT8_OID = 20;

/** Plain lower-case identifiers only: the name goes into a connection option and into DDL. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * This pool's type parsers: epoch-ms BIGINT columns and count(*) come back as numbers (exact up to
 * 2^53, far beyond any millisecond timestamp or row count) without touching pg's global parsers.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return (value: string): number => Number(value);
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  }) as typeof pg.types.getTypeParser,
};

/** Connects to PostgreSQL, migrates the schema and returns the hub's Storage on a pool. */
export async function openPostgresStorage(opts: PostgresStorageOptions): Promise<Storage> {
  const schema = opts.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use [a-z0-9_]`);
  }
  const durability = opts.durability ?? 'normal';
  if (!Object.hasOwn(SYNCHRONOUS_COMMIT, durability))
    throw new Error(`unknown durability ${JSON.stringify(durability)}: use normal or full`);
  const max = opts.max ?? 10;
  const pool = new pg.Pool({
    connectionString: opts.url,
    max,
    types,
    // Every pooled connection resolves unqualified table names in this schema only, and commits
    // at the configured durability.
    options: `-c search_path=${schema} -c synchronous_commit=${SYNCHRONOUS_COMMIT[durability]}`,
  });
  // An idle client losing its connection emits on the pool; without a listener that would crash.
  pool.on('error', () => undefined);
  try {
    const schemaVersion = await migrate(pool, schema, { createSchema: schema !== 'public' });
    const sync = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    if (sync.rows[0]?.synchronous_commit !== SYNCHRONOUS_COMMIT[durability])
      throw new Error(`PostgreSQL did not accept synchronous_commit for durability ${durability}`);
    return {
      organizations: createOrganizationStore(pool),
      users: createUserStore(pool),
      memberships: createMembershipStore(pool),
      sessions: createSessionStore(pool),
      apiKeys: createApiKeyStore(pool),
      devices: createDeviceStore(pool),
      deviceKeys: createDeviceKeyStore(pool),
      locations: createLocationStore(pool),
      pki: createPkiStore(pool),
      audit: createAuditStore(pool),
      system: createSystemStore(pool),
      channels: createChannelStore(pool),
      // Message batches of different channels run side by side on up to half the pool (at most
      // 4: beyond that a 2-core host gains nothing), leaving the rest to every other query.
      messages: createMessageStore(pool, Math.max(1, Math.min(4, Math.floor(max / 2)))),
      tickets: createTicketStore(pool),
      firmware: createFirmwareStore(pool),
      ...createPostgresManagementStores(pool),
      updateJobs: createPostgresUpdateJobStore(pool),
      ...createPostgresRolloutStores(pool),
      durability,
      mqttState: createMqttStateStore(pool),
      deviceLogs: createPostgresDeviceLogStore(pool),
      mitigations: createPostgresMitigationStore(pool),
      savedViews: createPostgresSavedViewStore(pool),
      metricsHistory: createPostgresMetricsHistoryStore(pool),
      provisioning: createPostgresProvisioningStore(pool),
      checks: createPostgresCheckStore(pool),
      rules: createPostgresRuleStore(pool),
      detect: createPostgresDetectStore(pool),
      schemaVersion,
      async ping() {
        try {
          await pool.query('SELECT 1');
          return true;
        } catch {
          return false;
        }
      },
      async close() {
        if (!pool.ended) await pool.end();
      },
    };
  } catch (err) {
    await pool.end();
    throw err;
  }
}
