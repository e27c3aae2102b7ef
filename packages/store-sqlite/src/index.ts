/**
 * @bulwark/store-sqlite: the embedded storage adapter (the default), on better-sqlite3 in WAL mode.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Storage } from '@bulwark/core';
import { createApiKeyStore } from './api-key-store.js';
import { createAuditStore } from './audit-store.js';
import { createChannelStore } from './channel-store.js';
import { createDeviceKeyStore } from './device-key-store.js';
import { createDeviceStore } from './device-store.js';
import { createLocationStore } from './location-store.js';
import { createSqliteManagementStores } from './management-store.js';
import { createSqliteUpdateJobStore } from './update-job-store.js';
import { createSqliteRolloutStores } from './rollout-store.js';
import { createMembershipStore } from './membership-store.js';
import { createMessageStore } from './message-store.js';
import { createMqttStateStore } from './mqtt-state-store.js';
import { migrate } from './migrations.js';
import { createOrganizationStore } from './organization-store.js';
import { createPkiStore } from './pki-store.js';
import { createSessionStore } from './session-store.js';
import { createSystemStore } from './system-store.js';
import { createTicketStore } from './ticket-store.js';
import { createFirmwareStore } from './firmware-store.js';
import { createUserStore } from './user-store.js';

export { MIGRATIONS, type Migration } from './migrations.js';

/** Options of openSqliteStorage. */
export interface SqliteStorageOptions {
  /** A database file path, or ':memory:' for a private in-memory database (tests). */
  path: string;
  /** How long a write waits for another process's lock before failing, in ms (default 5000). */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) and migrates a SQLite database, returning the hub's Storage on it. */
export async function openSqliteStorage(opts: SqliteStorageOptions): Promise<Storage> {
  const db = new BetterSqlite3(opts.path);
  try {
    // WAL lets readers proceed while one writer commits; NORMAL sync is durable in WAL mode
    // except for the last transactions on power loss, which is the usual trade for an embedded hub.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    const schemaVersion = migrate(db);
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
      messages: createMessageStore(db),
      tickets: createTicketStore(db),
      firmware: createFirmwareStore(db),
      ...createSqliteManagementStores(db),
      updateJobs: createSqliteUpdateJobStore(db),
      ...createSqliteRolloutStores(db),
      mqttState: createMqttStateStore(db),
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
        if (db.open) db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
