/**
 * @bulwark/store-sqlite: the embedded storage adapter (the default), on better-sqlite3 in WAL mode.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Durability, Storage } from '@bulwark/core';
import { createApiKeyStore } from './api-key-store.js';
import { createAuditStore } from './audit-store.js';
import { createChannelStore } from './channel-store.js';
import { createDeviceKeyStore } from './device-key-store.js';
import { createDeviceStore } from './device-store.js';
import { createLocationStore } from './location-store.js';
import {
  createSqliteManagementStores,
  createSqliteDeviceLogStore,
  createSqliteMitigationStore,
  createSqliteSavedViewStore,
  createSqliteMetricsHistoryStore,
} from './management-store.js';
import { createSqliteUpdateJobStore } from './update-job-store.js';
import { createSqliteRolloutStores } from './rollout-store.js';
import { createMembershipStore } from './membership-store.js';
import { createMessageStore } from './message-store.js';
import { threadAppender } from './message-writer.js';
import { createMqttStateStore } from './mqtt-state-store.js';
import { migrate } from './migrations.js';
import { createOrganizationStore } from './organization-store.js';
import { createPkiStore } from './pki-store.js';
import { createProvisioningStore } from './provisioning-store.js';
import { createSessionStore } from './session-store.js';
import { createSystemStore } from './system-store.js';
import { createTicketStore } from './ticket-store.js';
import { createFirmwareStore } from './firmware-store.js';
import { createUserStore } from './user-store.js';
import { createSqliteCheckStore } from './check-store.js';
import { createSqliteRuleStore } from './rule-store.js';
import { createSqliteDetectStore } from './detect-store.js';
import { cachePreparedStatements } from './statement-cache.js';
import { tuneForIngest } from './connection-tuning.js';

export { MIGRATIONS, type Migration } from './migrations.js';

/** Options of openSqliteStorage. */
export interface SqliteStorageOptions {
  /** A database file path, or ':memory:' for a private in-memory database (tests). */
  path: string;
  /** How long a write waits for another process's lock before failing, in ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * What a commit survives (decision 0019): 'normal' (default) syncs the WAL at checkpoints only,
   * so a commit survives a crash of the process but not of the OS or power; 'full' syncs the WAL
   * at every commit and survives both.
   */
  durability?: Durability;
  /**
   * Append message batches on a worker thread with its own connection (default: true for a file,
   * impossible for ':memory:'), so SQLite's work and fsyncs leave the event loop (decision 0019).
   */
  writerThread?: boolean;
}

/** SQLite's `synchronous` levels (https://sqlite.org/pragma.html#pragma_synchronous). */
const SYNCHRONOUS: Readonly<Record<Durability, number>> = { normal: 1, full: 2 };

/** Opens (creating if needed) and migrates a SQLite database, returning the hub's Storage on it. */
export async function openSqliteStorage(opts: SqliteStorageOptions): Promise<Storage> {
  const db = new BetterSqlite3(opts.path);
  try {
    // WAL lets readers proceed while one writer commits. In WAL mode NORMAL loses no commit when
    // the process dies (the WAL is written before COMMIT returns) but may lose the last ones on
    // power loss; FULL also fsyncs the WAL at every commit.
    const durability = opts.durability ?? 'normal';
    if (!Object.hasOwn(SYNCHRONOUS, durability))
      throw new Error(`unknown durability ${JSON.stringify(durability)}: use normal or full`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${SYNCHRONOUS[durability]}`);
    if (db.pragma('synchronous', { simple: true }) !== SYNCHRONOUS[durability])
      throw new Error(`SQLite did not accept synchronous=${durability.toUpperCase()}`);
    db.pragma('foreign_keys = ON');
    tuneForIngest(db);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    const schemaVersion = migrate(db);
    cachePreparedStatements(db);
    const thread =
      opts.path !== ':memory:' && opts.path !== '' && opts.writerThread !== false
        ? threadAppender({
            path: opts.path,
            synchronous: SYNCHRONOUS[durability],
            busyTimeoutMs: Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000)),
          })
        : undefined;
    return {
      organizations: createOrganizationStore(db),
      users: createUserStore(db),
      memberships: createMembershipStore(db),
      sessions: createSessionStore(db),
      apiKeys: createApiKeyStore(db),
      devices: createDeviceStore(db),
      deviceKeys: createDeviceKeyStore(db),
      locations: createLocationStore(db),
      pki: createPkiStore(db),
      audit: createAuditStore(db),
      system: createSystemStore(db),
      channels: createChannelStore(db),
      messages: createMessageStore(db, thread),
      tickets: createTicketStore(db),
      firmware: createFirmwareStore(db),
      ...createSqliteManagementStores(db),
      updateJobs: createSqliteUpdateJobStore(db),
      ...createSqliteRolloutStores(db),
      durability,
      mqttState: createMqttStateStore(db),
      deviceLogs: createSqliteDeviceLogStore(db),
      mitigations: createSqliteMitigationStore(db),
      savedViews: createSqliteSavedViewStore(db),
      metricsHistory: createSqliteMetricsHistoryStore(db),
      provisioning: createProvisioningStore(db),
      checks: createSqliteCheckStore(db),
      rules: createSqliteRuleStore(db),
      detect: createSqliteDetectStore(db),
      schemaVersion,
      async ping() {
        try {
          db.prepare('SELECT 1').get();
          return true;
        } catch {
          return false;
        }
      },
      async close() {
        await thread?.close();
        if (db.open) db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
