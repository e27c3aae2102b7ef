import type { Database } from 'better-sqlite3';
import {
  lineageAndKeyedAuditSchema,
  managementSchema,
  mqttStateSchema,
  checksSchema,
  rulesSchema,
  detectSchema,
  firmwarePolicyGateSchema,
  deviceLogSchema,
  alertLifecycleSchema,
  maintenanceWindowSchema,
  notificationSchema,
  mitigationSchema,
  savedViewSchema,
  metricsHistorySchema,
  mitigationSourceBlocksSchema,
  provisioningSchema,
  rolloutSchema,
  UPDATE_JOB_CANCEL_REQUEST_SQL,
  updateJobSchema,
} from '@bulwark/store-sql';
import { TELEMETRY_SCHEMA_SQL, TELEMETRY_SERIES_SQL } from './telemetry-schema.js';

/** One step of the schema: applied once, in order, inside a transaction. */
export interface Migration {
  version: number;
  name: string;
  up: string;
}

/** Every schema step this hub knows, oldest first; never edit one that has shipped, add another. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    up: `
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  totp_secret_sealed TEXT,
  totp_enabled INTEGER NOT NULL DEFAULT 0,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  grants TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE refresh_sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  replaced_by TEXT
);
CREATE INDEX refresh_sessions_user ON refresh_sessions (user_id);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  permissions TEXT NOT NULL,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE locations (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  parent_id TEXT,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX locations_org ON locations (org_id, id);

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  firmware_type TEXT,
  firmware_version TEXT,
  tags TEXT NOT NULL,
  mode TEXT NOT NULL,
  state TEXT NOT NULL,
  location_id TEXT,
  last_seen_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX devices_org_name_key ON devices (org_id, name);
CREATE INDEX devices_org_id ON devices (org_id, id);
CREATE INDEX devices_org_location ON devices (org_id, location_id);

CREATE TABLE device_keys (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX device_keys_device ON device_keys (device_id);

CREATE TABLE ca (
  scope TEXT NOT NULL,
  role TEXT NOT NULL,
  cert_pem TEXT NOT NULL,
  key_sealed TEXT NOT NULL,
  serial TEXT NOT NULL,
  not_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, role)
);

CREATE TABLE certificates (
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  serial TEXT NOT NULL,
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  cert_pem TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  spki_sha256 TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revocation_reason TEXT,
  PRIMARY KEY (org_id, serial)
);
CREATE INDEX certificates_device ON certificates (org_id, device_id);
CREATE INDEX certificates_spki ON certificates (org_id, spki_sha256);

CREATE TABLE enrollment_tokens (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);

-- Not tied to organizations: CRL numbers must never repeat, even for a re-created scope.
CREATE TABLE crl_numbers (
  org_id TEXT PRIMARY KEY,
  last INTEGER NOT NULL
);

-- detail is TEXT exactly as given (never re-encoded) so the chain's hashes stay reproducible.
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  org_id TEXT,
  at INTEGER NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  action TEXT NOT NULL,
  target_type TEXT,
  target_id TEXT,
  source TEXT,
  result TEXT NOT NULL,
  detail TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, seq);

CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
  VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE system_kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'messaging',
    // Channels and their connections are small, so they carry foreign keys. The telemetry tables
    // (messages, senml_values) deliberately do not: a channel deleted while its messages wait in
    // the writer's queue must not fail the whole batch of other channels' messages. Channel
    // deletion and retention remove messages and values explicitly, in one transaction.
    //
    // senml_values is WITHOUT ROWID keyed by (message_id, idx): two b-trees instead of three per
    // row, and the series index then carries message_id and idx too, so with `v` appended it
    // covers every aggregate (including `last`'s tie-break) without touching the table.
    up: `
CREATE TABLE channels (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  persisted INTEGER NOT NULL,
  retention_days INTEGER,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX channels_org_name_key ON channels (org_id, name);
-- The parent key of channel_connections' (org_id, channel_id): a connection cannot point at
-- another organization's channel. Also serves list() in id order.
CREATE UNIQUE INDEX channels_org_id ON channels (org_id, id);

CREATE TABLE channel_connections (
  org_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  client_type TEXT NOT NULL,
  client_id TEXT NOT NULL,
  publish INTEGER NOT NULL,
  subscribe INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, channel_id, client_type, client_id),
  FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id) ON DELETE CASCADE
);
-- (A rowid table: made WITHOUT ROWID, SQLite's planner prefers a primary-key prefix scan over
-- this index, whose columns are all primary-key columns.)
CREATE INDEX channel_connections_client
  ON channel_connections (org_id, client_type, client_id, channel_id);

-- senml is the resolved records as JSON text, exactly as given (NULL: not SenML).
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  subtopic TEXT NOT NULL,
  publisher_type TEXT NOT NULL,
  publisher_id TEXT NOT NULL,
  protocol TEXT NOT NULL,
  content_type TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  payload BLOB NOT NULL,
  senml TEXT,
  origin TEXT NOT NULL
);
CREATE INDEX messages_channel_time ON messages (org_id, channel_id, received_at, id);

-- One row per SenML record of a stored message; t is the record time in seconds (REAL).
CREATE TABLE senml_values (
  message_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  org_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  name TEXT NOT NULL,
  t REAL NOT NULL,
  v REAL,
  vs TEXT,
  vb INTEGER,
  vd TEXT,
  u TEXT,
  s REAL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (message_id, idx)
) WITHOUT ROWID;
CREATE INDEX senml_values_series ON senml_values (org_id, channel_id, name, t, v);
`,
  },
  {
    version: 3,
    name: 'revocation-sweep',
    // Every hub node polls for revocations made on any node, to cut live sessions at once.
    up: `
CREATE INDEX certificates_revoked ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX device_keys_revoked ON device_keys (revoked_at) WHERE revoked_at IS NOT NULL;
`,
  },
  {
    version: 4,
    name: 'device-management',
    // The device twin, the durable command queue, presence with the latest metrics, device events
    // and alerts (DESIGN.md §3). The same tables in both dialects (store-sql managementSchema).
    up: managementSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 5,
    name: 'access-tickets',
    // One-time tickets for devices' local management ports. The signed ticket is not kept (the
    // device verifies it offline); the row is for listing, audit and revocation of backup tickets.
    up: `
CREATE TABLE access_tickets (
  jti TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  perm TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_by_type TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  backup INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX access_tickets_device ON access_tickets (org_id, device_id, jti);
`,
  },
  {
    version: 6,
    name: 'firmware-repository',
    // Issue 6: each organization's trusted TUF root and its firmware artifacts. The image itself
    // is in the BlobStore (content-addressed, so several rows may share a blob_key).
    up: `
CREATE TABLE firmware_roots (
  org_id TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  root_json TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE firmware_artifacts (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  types_json TEXT NOT NULL,
  hardware_json TEXT NOT NULL,
  version TEXT NOT NULL,
  release_counter INTEGER NOT NULL,
  length INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  state TEXT NOT NULL,
  blob_key TEXT,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (org_id, sha256)
);
CREATE INDEX firmware_artifacts_org ON firmware_artifacts (org_id, id);
CREATE INDEX firmware_artifacts_blob ON firmware_artifacts (blob_key) WHERE blob_key IS NOT NULL;
`,
  },
  {
    version: 7,
    name: 'update-jobs',
    // Issue 6 (decision 0008): firmware update jobs with a hub-unique integer action id (the
    // hawkBit DDI actionId), one open job per device (partial unique index), history as JSON.
    up: updateJobSchema({
      int: 'INTEGER',
      idText: 'TEXT',
      actionId: 'action_id INTEGER PRIMARY KEY AUTOINCREMENT',
    }),
  },
  {
    version: 8,
    name: 'rollouts',
    // Issue 6 (decision 0011): rollouts (fixed spec as JSON, mutable state, tick lease) and the
    // auto-upgrade policy per device type. The same tables in both dialects (store-sql).
    up: rolloutSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 9,
    name: 'certificate-lineage-and-keyed-audit',
    // Issue 11 (decision 0016): renewal supersedes the old certificate after an overlap, with a
    // per-device rate limit and revocation of descendants; the audit chain is keyed (HMAC).
    up: lineageAndKeyedAuditSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 10,
    name: 'update-job-cancel-request',
    // Issue 11 (decision 0015): a cancel is a request the device confirms or refuses; the job
    // keeps the pending one.
    up: UPDATE_JOB_CANCEL_REQUEST_SQL,
  },
  {
    version: 11,
    name: 'channel-content-type',
    // Issue 13: a channel's payload format for messages that declare none (MQTT 3.1.1 devices).
    up: 'ALTER TABLE channels ADD COLUMN content_type TEXT',
  },
  {
    version: 12,
    name: 'mqtt-state',
    // Issue 12 (decision 0020): retained messages and persistent MQTT sessions survive a restart.
    up: mqttStateSchema({ int: 'INTEGER', blob: 'BLOB' }),
  },
  {
    version: 13,
    name: 'provisioning',
    // Issue 13 (decision 0027): provisioning claims and the hardware ids they provisioned.
    up: provisioningSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 14,
    name: 'telemetry-integer-keys',
    // Issue 12 (decision 0024): telemetry keyed by integer channel and message numbers.
    up: TELEMETRY_SCHEMA_SQL,
  },
  {
    version: 15,
    name: 'auto-upgrade-gate',
    // Issue 13 (decision 0011): the auto-upgrade policy honours a rollout's limits (concurrency,
    // rate, window, failure threshold), pauses, and is stepped by the tick under a lease.
    up: firmwarePolicyGateSchema({ int: 'INTEGER' }),
  },
  {
    version: 16,
    name: 'fleet-audit-checks',
    // Issue 14 (decision 0031): audit-check findings, suppressions, firmware advisories and the
    // run leases.
    up: checksSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 17,
    name: 'device-logs',
    // Issue 14 item 7 (decision 0032): central device logs, kept per device with retention.
    up: deviceLogSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 18,
    name: 'alert-lifecycle',
    // Issue 14 (decision 0030): alerts acknowledged, assigned, muted and commented; severity,
    // evidence and a dedup key (one active alert per key); fleet-wide alerts without a device.
    up: alertLifecycleSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 19,
    name: 'notifications',
    // Issue 14 (decision 0030): notification endpoints (secrets sealed), routing rules and the
    // persisted delivery queue with its lease and dead letters.
    up: notificationSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 20,
    name: 'telemetry-rules',
    // Issue 14 item 6 (decision 0035): rules on telemetry.
    up: rulesSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 21,
    name: 'mitigations',
    // Issue 14 item 3 (decision 0036): mitigation policies bound to alerts and the log of
    // mitigation actions (applied, dry runs, failures, reverts) with what a revert restores.
    up: mitigationSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 22,
    name: 'detect-baselines',
    // Issue 14 item 1 (decision 0034): detection rule settings per organization and learned
    // baselines per device.
    up: detectSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 23,
    name: 'maintenance-windows',
    // Issue 14 (decision 0030, amendment): maintenance windows that hold notifications back.
    up: maintenanceWindowSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 24,
    name: 'telemetry-series-keys',
    // Issue 12 (decision 0024, amendment): SenML values keyed by an integer series.
    up: TELEMETRY_SERIES_SQL,
  },
  {
    version: 25,
    name: 'mitigation-source-blocks',
    // Issue 14 item 3 (decision 0036, amendment "block_source"): an action on no device (a block
    // of a source address) and the read of live blocks by action and time.
    up: mitigationSourceBlocksSchema('sqlite'),
  },
  {
    version: 26,
    name: 'saved-views',
    // Issue 15 item 2 (decision 0038 amendment): named fleet filters per user, one per name.
    up: savedViewSchema({ int: 'INTEGER', idText: 'TEXT' }),
  },
  {
    version: 27,
    name: 'device-metrics-history',
    // Issue 15 item 3 (decision 0038 amendment): each kept metrics report, for the health charts.
    up: metricsHistorySchema({
      int: 'INTEGER',
      small: 'INTEGER',
      idText: 'TEXT',
      tail: ' WITHOUT ROWID',
    }),
  },
  {
    version: 28,
    name: 'scoped-grants',
    // Decision 0046: a member's permissions on device groups, as a JSON list on the membership
    // (read with it at every request, removed with it; at most MAX_SCOPED_GRANTS entries).
    up: `ALTER TABLE memberships ADD COLUMN scoped_grants TEXT NOT NULL DEFAULT '[]'`,
  },
];

/** The error thrown when the database was migrated by a newer hub than this one. */
export function schemaTooNew(dbVersion: number, known: number): Error {
  return new Error(
    `database schema is at version ${dbVersion}, this hub only knows up to ${known}; upgrade the hub`,
  );
}

/**
 * Brings the database up to the newest known version and returns it. Pending steps run in one
 * IMMEDIATE transaction, so a second process opening the same file waits rather than racing.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const known = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const run = db.transaction((): number => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as {
      v: number | null;
    };
    const current = row.v ?? 0;
    if (current > known) throw schemaTooNew(current, known);
    const record = db.prepare(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      db.exec(m.up);
      record.run(m.version, m.name, Date.now());
    }
    return known;
  });
  return run.immediate();
}
