/**
 * Migrations 16 and 17 (issue 14, decision 0030), the same SQL in both dialects. `int` is BIGINT on
 * PostgreSQL and INTEGER on SQLite; `idText` adds PostgreSQL's "C" collation so ids sort byte-wise
 * as in SQLite.
 */

/** How a severity ranks, as SQL over `column` (for MAX in groups and "keep the higher"). */
export const severityRankSql = (column: string): string =>
  `(CASE ${column} WHEN 'info' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 ELSE 4 END)`;

/**
 * Migration 18: the alert lifecycle. The table is rebuilt (SQLite cannot drop NOT NULL from
 * device_id: fleet-wide alerts have no device); existing alerts keep their ids and get the
 * severity of their kind, a dedup key of kind and device, and their detail as evidence. One alert
 * is active per (organization, dedup key), which replaces one open alert per (device, kind).
 */
export function alertLifecycleSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE alerts_v16 (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} REFERENCES devices (id) ON DELETE CASCADE,
  kind text NOT NULL,
  severity text NOT NULL,
  state text NOT NULL,
  title text NOT NULL,
  dedup_key text NOT NULL,
  group_key text NOT NULL,
  evidence text NOT NULL,
  occurrences ${int} NOT NULL,
  opened_at ${int} NOT NULL,
  last_seen_at ${int} NOT NULL,
  acknowledged_at ${int},
  acknowledged_by text,
  resolved_at ${int},
  resolved_by text,
  assignee text,
  muted_until ${int},
  mute_reason text,
  updated_at ${int} NOT NULL
);
INSERT INTO alerts_v16 (id, org_id, device_id, kind, severity, state, title, dedup_key, group_key,
  evidence, occurrences, opened_at, last_seen_at, resolved_at, resolved_by, updated_at)
SELECT id, org_id, device_id, kind,
  CASE kind WHEN 'device_offline' THEN 'medium' WHEN 'credential_conflict' THEN 'critical'
    ELSE 'high' END,
  state, kind, kind || ':' || device_id, kind, detail, 1, opened_at, opened_at, resolved_at,
  CASE WHEN resolved_at IS NULL THEN NULL ELSE 'system' END, COALESCE(resolved_at, opened_at)
FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v16 RENAME TO alerts;
CREATE UNIQUE INDEX alerts_active ON alerts (org_id, dedup_key) WHERE state <> 'resolved';
CREATE INDEX alerts_org ON alerts (org_id, id);
CREATE INDEX alerts_recently_resolved ON alerts (org_id, dedup_key, resolved_at)
  WHERE state = 'resolved';
CREATE TABLE alert_comments (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  alert_id ${idText} NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  author text NOT NULL,
  body text NOT NULL,
  at ${int} NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments (alert_id, id);
`;
}

/**
 * Migration 19: notification endpoints (secrets sealed, circuit breaker), routing rules, and the
 * delivery queue with its lease (one node attempts a delivery at a time) and dead letters.
 * Booleans are 0/1 integers in both dialects.
 */
export function notificationSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE notification_endpoints (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  settings text NOT NULL,
  secrets_sealed text NOT NULL,
  enabled ${int} NOT NULL,
  consecutive_failures ${int} NOT NULL,
  breaker_open_until ${int} NOT NULL,
  last_success_at ${int},
  last_failure_at ${int},
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE notification_rules (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  enabled ${int} NOT NULL,
  location_id ${idText},
  min_severity text NOT NULL,
  kinds text NOT NULL,
  endpoint_ids text NOT NULL,
  notify_resolved ${int} NOT NULL,
  escalation text,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE notification_deliveries (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  endpoint_id ${idText} NOT NULL REFERENCES notification_endpoints (id) ON DELETE CASCADE,
  alert_id ${idText} REFERENCES alerts (id) ON DELETE CASCADE,
  rule_id ${idText},
  event text NOT NULL,
  payload text NOT NULL,
  state text NOT NULL,
  attempts ${int} NOT NULL,
  next_attempt_at ${int} NOT NULL,
  lease_holder text,
  lease_until ${int} NOT NULL,
  last_error text,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL,
  delivered_at ${int}
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
  WHERE state = 'pending';
CREATE INDEX notification_deliveries_org ON notification_deliveries (org_id, id);
CREATE INDEX notification_deliveries_settled ON notification_deliveries (updated_at)
  WHERE state IN ('delivered', 'canceled');
`;
}

/**
 * Migration 23: maintenance windows (decision 0030, amendment) — an organization's scheduled
 * periods, organization-wide or on a location subtree, during which notifications are held back.
 */
export function maintenanceWindowSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE maintenance_windows (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  location_id ${idText},
  kinds text NOT NULL,
  starts_at ${int} NOT NULL,
  ends_at ${int} NOT NULL,
  reason text NOT NULL,
  created_by text NOT NULL,
  created_at ${int} NOT NULL
);
CREATE INDEX maintenance_windows_org ON maintenance_windows (org_id, ends_at);
`;
}
