/** The device-management tables of migration 4, the same in both dialects. */
/**
 * The migration-4 tables. `text` is the type both dialects read; `int` becomes BIGINT on
 * PostgreSQL (epoch milliseconds) and INTEGER on SQLite; `idText` adds PostgreSQL's "C" collation so
 * ids sort byte-wise as in SQLite.
 */
export function managementSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE twin_desired (
  device_id ${idText} PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  version ${int} NOT NULL,
  state text NOT NULL,
  updated_at ${int} NOT NULL
);
CREATE INDEX twin_desired_org ON twin_desired (org_id, device_id);

CREATE TABLE twin_reported (
  device_id ${idText} PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  version ${int} NOT NULL,
  desired_version ${int} NOT NULL,
  state text NOT NULL,
  errors text NOT NULL,
  updated_at ${int} NOT NULL
);

CREATE TABLE device_commands (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  name text NOT NULL,
  params text NOT NULL,
  state text NOT NULL,
  deadline ${int} NOT NULL,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL,
  result text,
  error text,
  history text NOT NULL
);
CREATE INDEX device_commands_device ON device_commands (org_id, device_id, id);
CREATE INDEX device_commands_open ON device_commands (deadline)
  WHERE state IN ('queued', 'delivered');

CREATE TABLE device_presence (
  device_id ${idText} PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  online ${int} NOT NULL,
  mode text,
  since ${int} NOT NULL,
  last_seen_at ${int} NOT NULL,
  session_id text,
  metrics text
);
CREATE INDEX device_presence_online ON device_presence (last_seen_at) WHERE online = 1;

CREATE TABLE device_events (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  kind text NOT NULL,
  severity text NOT NULL,
  at ${int} NOT NULL,
  received_at ${int} NOT NULL,
  detail text NOT NULL
);
CREATE INDEX device_events_device ON device_events (org_id, device_id, id);

CREATE TABLE alerts (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  kind text NOT NULL,
  state text NOT NULL,
  opened_at ${int} NOT NULL,
  resolved_at ${int},
  detail text NOT NULL
);
CREATE UNIQUE INDEX alerts_open ON alerts (device_id, kind) WHERE state = 'open';
CREATE INDEX alerts_org ON alerts (org_id, id);
`;
}
