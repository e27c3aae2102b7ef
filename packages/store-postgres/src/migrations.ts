import type { Pool } from 'pg';
import { transaction } from './db.js';
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

/** One step of the schema: applied once, in order, inside the migration transaction. */
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
    // Ids are text COLLATE "C" so that ORDER BY id is byte order, which is creation order for
    // UUIDv7 whatever the database's default collation.
    up: `
CREATE TABLE organizations (
  id text COLLATE "C" PRIMARY KEY,
  name text NOT NULL,
  created_at bigint NOT NULL
);

CREATE TABLE users (
  id text COLLATE "C" PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  password_hash text NOT NULL,
  totp_secret_sealed text,
  totp_enabled boolean NOT NULL DEFAULT false,
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL,
  grants text[] NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE refresh_sessions (
  id text COLLATE "C" PRIMARY KEY,
  user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  revoked_at bigint,
  replaced_by text COLLATE "C"
);
CREATE INDEX refresh_sessions_user ON refresh_sessions (user_id);

CREATE TABLE api_keys (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  secret_hash text NOT NULL,
  permissions text[] NOT NULL,
  created_by text COLLATE "C",
  created_at bigint NOT NULL,
  expires_at bigint,
  last_used_at bigint,
  revoked_at bigint
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE locations (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  parent_id text COLLATE "C",
  kind text NOT NULL,
  name text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX locations_org ON locations (org_id, id);

CREATE TABLE devices (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  type text NOT NULL,
  firmware_type text,
  firmware_version text,
  tags text[] NOT NULL,
  mode text NOT NULL,
  state text NOT NULL,
  location_id text COLLATE "C",
  last_seen_at bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE UNIQUE INDEX devices_org_name_key ON devices (org_id, name);
CREATE INDEX devices_org_id ON devices (org_id, id);
CREATE INDEX devices_org_location ON devices (org_id, location_id);
CREATE INDEX devices_tags ON devices USING gin (tags);

CREATE TABLE device_keys (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id text COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  secret_hash text NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX device_keys_device ON device_keys (device_id);

CREATE TABLE ca (
  scope text COLLATE "C" NOT NULL,
  role text NOT NULL,
  cert_pem text NOT NULL,
  key_sealed text NOT NULL,
  serial text NOT NULL,
  not_after bigint NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (scope, role)
);

CREATE TABLE certificates (
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  serial text COLLATE "C" NOT NULL,
  device_id text COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  cert_pem text NOT NULL,
  fingerprint text NOT NULL,
  spki_sha256 text NOT NULL,
  not_before bigint NOT NULL,
  not_after bigint NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint,
  revocation_reason text,
  PRIMARY KEY (org_id, serial)
);
CREATE INDEX certificates_device ON certificates (org_id, device_id);
CREATE INDEX certificates_spki ON certificates (org_id, spki_sha256);

CREATE TABLE enrollment_tokens (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id text COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  created_by text COLLATE "C",
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint
);

-- Not tied to organizations: CRL numbers must never repeat, even for a re-created scope.
CREATE TABLE crl_numbers (
  org_id text COLLATE "C" PRIMARY KEY,
  last bigint NOT NULL
);

-- detail is text exactly as given, never jsonb (which would re-encode it and break the hashes).
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  org_id text COLLATE "C",
  at bigint NOT NULL,
  actor_type text NOT NULL,
  actor_id text,
  action text NOT NULL,
  target_type text,
  target_id text,
  source text,
  result text NOT NULL,
  detail text,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, seq);

CREATE TABLE audit_head (
  id integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));

CREATE TABLE system_kv (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'messaging',
    // Channels and their connections are small, so they carry foreign keys. The telemetry tables
    // (messages, senml_values) deliberately do not: a channel deleted while its messages wait in
    // the writer's queue must not fail the whole batch of other channels' messages, and a foreign
    // key check per inserted row would take a KEY SHARE lock on the hot channel row from every
    // hub node (multixact churn). Channel deletion and retention remove messages and values
    // explicitly, in one statement.
    //
    // The series index INCLUDEs v, message_id and idx so aggregates are index-only scans.
    up: `
CREATE TABLE channels (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  persisted boolean NOT NULL,
  retention_days integer,
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX channels_org_name_key ON channels (org_id, name);
-- The parent key of channel_connections' (org_id, channel_id): a connection cannot point at
-- another organization's channel. Also serves list() in id order.
CREATE UNIQUE INDEX channels_org_id ON channels (org_id, id);

CREATE TABLE channel_connections (
  org_id text COLLATE "C" NOT NULL,
  channel_id text COLLATE "C" NOT NULL,
  client_type text NOT NULL,
  client_id text COLLATE "C" NOT NULL,
  publish boolean NOT NULL,
  subscribe boolean NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (org_id, channel_id, client_type, client_id),
  FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id) ON DELETE CASCADE
);
CREATE INDEX channel_connections_client
  ON channel_connections (org_id, client_type, client_id, channel_id);

-- senml is the resolved records as JSON text, exactly as given (NULL: not SenML); text, not
-- jsonb, so what is read back is what was stored.
CREATE TABLE messages (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL,
  channel_id text COLLATE "C" NOT NULL,
  subtopic text NOT NULL,
  publisher_type text NOT NULL,
  publisher_id text COLLATE "C" NOT NULL,
  protocol text NOT NULL,
  content_type text NOT NULL,
  received_at bigint NOT NULL,
  payload bytea NOT NULL,
  senml text,
  origin text NOT NULL
);
CREATE INDEX messages_channel_time ON messages (org_id, channel_id, received_at, id);

-- One row per SenML record of a stored message; t is the record time in seconds.
CREATE TABLE senml_values (
  message_id text COLLATE "C" NOT NULL,
  idx integer NOT NULL,
  org_id text COLLATE "C" NOT NULL,
  channel_id text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  t double precision NOT NULL,
  v double precision,
  vs text,
  vb boolean,
  vd text,
  u text,
  s double precision,
  received_at bigint NOT NULL,
  PRIMARY KEY (message_id, idx)
);
CREATE INDEX senml_values_series ON senml_values (org_id, channel_id, name, t)
  INCLUDE (v, message_id, idx);
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
    up: managementSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 5,
    name: 'access-tickets',
    // One-time tickets for devices' local management ports. The signed ticket is not kept (the
    // device verifies it offline); the row is for listing, audit and revocation of backup tickets.
    up: `
CREATE TABLE access_tickets (
  jti text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id text COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  perm text NOT NULL,
  issued_by text COLLATE "C" NOT NULL,
  issued_by_type text NOT NULL,
  issued_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  backup boolean NOT NULL,
  revoked_at bigint
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
  org_id text COLLATE "C" PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  version bigint NOT NULL,
  root_json text NOT NULL,
  updated_by text COLLATE "C" NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE firmware_artifacts (
  id text COLLATE "C" PRIMARY KEY,
  org_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  types_json text NOT NULL,
  hardware_json text NOT NULL,
  version text NOT NULL,
  release_counter bigint NOT NULL,
  length bigint NOT NULL,
  sha256 text COLLATE "C" NOT NULL,
  metadata_json text NOT NULL,
  state text NOT NULL,
  blob_key text COLLATE "C",
  created_by text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  CONSTRAINT firmware_artifacts_org_sha256_key UNIQUE (org_id, sha256)
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
      int: 'bigint',
      idText: 'text COLLATE "C"',
      actionId: 'action_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    }),
  },
  {
    version: 8,
    name: 'rollouts',
    // Issue 6 (decision 0011): rollouts (fixed spec as JSON, mutable state, tick lease) and the
    // auto-upgrade policy per device type. The same tables in both dialects (store-sql).
    up: rolloutSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 9,
    name: 'certificate-lineage-and-keyed-audit',
    // Issue 11 (decision 0016): renewal supersedes the old certificate after an overlap, with a
    // per-device rate limit and revocation of descendants; the audit chain is keyed (HMAC).
    up: lineageAndKeyedAuditSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
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
    up: 'ALTER TABLE channels ADD COLUMN content_type text',
  },
  {
    version: 12,
    name: 'mqtt-state',
    // Issue 12 (decision 0020): retained messages and persistent MQTT sessions survive a restart.
    up: mqttStateSchema({ int: 'bigint', blob: 'bytea' }),
  },
  {
    version: 13,
    name: 'provisioning',
    // Issue 13 (decision 0027): provisioning claims and the hardware ids they provisioned.
    up: provisioningSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 14,
    name: 'telemetry-integer-keys',
    // Issue 12 (decision 0024): SQLite's telemetry tables moved to integer keys; PostgreSQL's
    // batch insert is not limited by its schema (decision 0019), so nothing changes here. The
    // version is kept in step with SQLite's.
    up: 'SELECT 1',
  },
  {
    version: 15,
    name: 'auto-upgrade-gate',
    // Issue 13 (decision 0011): the auto-upgrade policy honours a rollout's limits (concurrency,
    // rate, window, failure threshold), pauses, and is stepped by the tick under a lease.
    up: firmwarePolicyGateSchema({ int: 'bigint' }),
  },
  {
    version: 16,
    name: 'fleet-audit-checks',
    // Issue 14 (decision 0031): audit-check findings, suppressions, firmware advisories and the
    // run leases.
    up: checksSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 17,
    name: 'device-logs',
    // Issue 14 item 7 (decision 0032): central device logs, kept per device with retention.
    up: deviceLogSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 18,
    name: 'alert-lifecycle',
    // Issue 14 (decision 0030): alerts acknowledged, assigned, muted and commented; severity,
    // evidence and a dedup key (one active alert per key); fleet-wide alerts without a device.
    up: alertLifecycleSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 19,
    name: 'notifications',
    // Issue 14 (decision 0030): notification endpoints (secrets sealed), routing rules and the
    // persisted delivery queue with its lease and dead letters.
    up: notificationSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 20,
    name: 'telemetry-rules',
    // Issue 14 item 6 (decision 0035): rules on telemetry.
    up: rulesSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 21,
    name: 'mitigations',
    // Issue 14 item 3 (decision 0036): mitigation policies bound to alerts and the log of
    // mitigation actions (applied, dry runs, failures, reverts) with what a revert restores.
    up: mitigationSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 22,
    name: 'detect-baselines',
    // Issue 14 item 1 (decision 0034): detection rule settings per organization and learned
    // baselines per device.
    up: detectSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 23,
    name: 'maintenance-windows',
    // Issue 14 (decision 0030, amendment): maintenance windows that hold notifications back.
    up: maintenanceWindowSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 24,
    name: 'telemetry-series-keys',
    // Issue 12 (decision 0024, amendment): SQLite's SenML values moved to integer series keys (its
    // b-tree writes per record); PostgreSQL's layout is unchanged. Kept in step with SQLite's.
    up: 'SELECT 1',
  },
  {
    version: 25,
    name: 'mitigation-source-blocks',
    // Issue 14 item 3 (decision 0036, amendment "block_source"): an action on no device (a block
    // of a source address) and the read of live blocks by action and time.
    up: mitigationSourceBlocksSchema('postgres'),
  },
  {
    version: 26,
    name: 'saved-views',
    // Issue 15 item 2 (decision 0038 amendment): named fleet filters per user, one per name.
    up: savedViewSchema({ int: 'bigint', idText: 'text COLLATE "C"' }),
  },
  {
    version: 27,
    name: 'device-metrics-history',
    // Issue 15 item 3 (decision 0038 amendment): each kept metrics report, for the health charts.
    up: metricsHistorySchema({
      int: 'bigint',
      small: 'smallint',
      idText: 'text COLLATE "C"',
      tail: '',
    }),
  },
  {
    version: 28,
    name: 'scoped-grants',
    // Decision 0046: a member's permissions on device groups, as a JSON list on the membership
    // (read with it at every request, removed with it; at most MAX_SCOPED_GRANTS entries).
    up: `ALTER TABLE memberships ADD COLUMN scoped_grants text NOT NULL DEFAULT '[]'`,
  },
];

/** The error thrown when the database was migrated by a newer hub than this one. */
export function schemaTooNew(dbVersion: number, known: number): Error {
  return new Error(
    `database schema is at version ${dbVersion}, this hub only knows up to ${known}; upgrade the hub`,
  );
}

/** Advisory-lock namespace for migrations (first key); the second key is the schema's hash. */
const MIGRATION_LOCK = 0x42_57_4b_01;

/**
 * Brings `schema` up to the newest known version and returns it. Hub processes starting together
 * serialize on a transaction-scoped advisory lock, so exactly one applies each pending step.
 */
export async function migrate(
  pool: Pool,
  schema: string,
  opts: { createSchema: boolean; migrations?: readonly Migration[] },
): Promise<number> {
  const migrations = [...(opts.migrations ?? MIGRATIONS)].sort((a, b) => a.version - b.version);
  const known = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  return transaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
    if (opts.createSchema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at bigint NOT NULL
    )`);
    const r = await c.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    const current = r.rows[0]?.v ?? 0;
    if (current > known) throw schemaTooNew(current, known);
    for (const m of migrations) {
      if (m.version <= current) continue;
      await c.query(m.up);
      await c.query(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [m.version, m.name, Date.now()],
      );
    }
    return known;
  });
}
