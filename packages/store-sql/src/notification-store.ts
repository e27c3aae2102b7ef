/**
 * NotificationStore in plain SQL both dialects run (migration 17). The delivery queue is claimed
 * with a lease in one UPDATE: on PostgreSQL a second node's UPDATE waits for the first's row lock
 * and then re-checks the lease, so a delivery is leased once; SQLite has one writer.
 */
import type {
  DeliveryRecord,
  MaintenanceWindowRecord,
  NotificationEndpointRecord,
  NotificationRuleRecord,
  NotificationStore,
} from '@bulwark/core';
import { encodeIdCursor } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';
import { newestFirst, pageOf } from './page.js';

interface EndpointRow {
  id: string;
  org_id: string;
  name: string;
  settings: string;
  secrets_sealed: string;
  enabled: number;
  consecutive_failures: number;
  breaker_open_until: number;
  last_success_at: number | null;
  last_failure_at: number | null;
  created_at: number;
  updated_at: number;
}

interface RuleRow {
  id: string;
  org_id: string;
  name: string;
  enabled: number;
  location_id: string | null;
  min_severity: string;
  kinds: string;
  endpoint_ids: string;
  notify_resolved: number;
  escalation: string | null;
  created_at: number;
  updated_at: number;
}

interface DeliveryRow {
  id: string;
  org_id: string;
  endpoint_id: string;
  alert_id: string | null;
  rule_id: string | null;
  event: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

const toEndpoint = (r: EndpointRow): NotificationEndpointRecord => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  settings: JSON.parse(r.settings) as NotificationEndpointRecord['settings'],
  secretsSealed: r.secrets_sealed,
  enabled: Number(r.enabled) === 1,
  consecutiveFailures: Number(r.consecutive_failures),
  breakerOpenUntil: Number(r.breaker_open_until),
  lastSuccessAt: r.last_success_at,
  lastFailureAt: r.last_failure_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toRule = (r: RuleRow): NotificationRuleRecord => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  enabled: Number(r.enabled) === 1,
  locationId: r.location_id,
  minSeverity: r.min_severity as NotificationRuleRecord['minSeverity'],
  kinds: JSON.parse(r.kinds) as string[],
  endpointIds: JSON.parse(r.endpoint_ids) as string[],
  notifyResolved: Number(r.notify_resolved) === 1,
  escalation:
    r.escalation === null
      ? null
      : (JSON.parse(r.escalation) as NotificationRuleRecord['escalation']),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDelivery = (r: DeliveryRow): DeliveryRecord => ({
  id: r.id,
  orgId: r.org_id,
  endpointId: r.endpoint_id,
  alertId: r.alert_id,
  ruleId: r.rule_id,
  event: r.event as DeliveryRecord['event'],
  payload: JSON.parse(r.payload) as DeliveryRecord['payload'],
  state: r.state as DeliveryRecord['state'],
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deliveredAt: r.delivered_at,
});

interface WindowRow {
  id: string;
  org_id: string;
  location_id: string | null;
  kinds: string;
  starts_at: number;
  ends_at: number;
  reason: string;
  created_by: string;
  created_at: number;
}

const toWindow = (r: WindowRow): MaintenanceWindowRecord => ({
  id: r.id,
  orgId: r.org_id,
  locationId: r.location_id,
  kinds: JSON.parse(r.kinds) as string[],
  startsAt: Number(r.starts_at),
  endsAt: Number(r.ends_at),
  reason: r.reason,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
});

const ruleValues = (r: NotificationRuleRecord) => [
  r.name,
  r.enabled ? 1 : 0,
  r.locationId,
  r.minSeverity,
  JSON.stringify(r.kinds),
  JSON.stringify(r.endpointIds),
  r.notifyResolved ? 1 : 0,
  r.escalation === null ? null : JSON.stringify(r.escalation),
  r.updatedAt,
];

/** The notification store on a dialect's runner. */
export function createNotificationStore(db: SqlRunner): NotificationStore {
  const oneEndpoint = async (sql: string, params: readonly unknown[]) => {
    const row = (await db.all<EndpointRow>(sql, params))[0];
    return row && toEndpoint(row);
  };
  const oneDelivery = async (sql: string, params: readonly unknown[]) => {
    const row = (await db.all<DeliveryRow>(sql, params))[0];
    return row && toDelivery(row);
  };
  return {
    async createEndpoint(e) {
      await db.run(
        `INSERT INTO notification_endpoints (id, org_id, name, settings, secrets_sealed, enabled,
           consecutive_failures, breaker_open_until, last_success_at, last_failure_at, created_at,
           updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          e.id,
          e.orgId,
          e.name,
          JSON.stringify(e.settings),
          e.secretsSealed,
          e.enabled ? 1 : 0,
          e.consecutiveFailures,
          e.breakerOpenUntil,
          e.lastSuccessAt,
          e.lastFailureAt,
          e.createdAt,
          e.updatedAt,
        ],
      );
    },
    getEndpoint: (orgId, id) =>
      oneEndpoint('SELECT * FROM notification_endpoints WHERE org_id = ? AND id = ?', [orgId, id]),
    async listEndpoints(orgId) {
      const rows = await db.all<EndpointRow>(
        'SELECT * FROM notification_endpoints WHERE org_id = ? ORDER BY id',
        [orgId],
      );
      return rows.map(toEndpoint);
    },
    updateEndpoint: (orgId, id, p, at) =>
      oneEndpoint(
        `UPDATE notification_endpoints SET name = ?, settings = ?, secrets_sealed = ?, enabled = ?,
           updated_at = ? WHERE org_id = ? AND id = ? RETURNING *`,
        [p.name, JSON.stringify(p.settings), p.secretsSealed, p.enabled ? 1 : 0, at, orgId, id],
      ),
    async deleteEndpoint(orgId, id) {
      await db.run('DELETE FROM notification_deliveries WHERE org_id = ? AND endpoint_id = ?', [
        orgId,
        id,
      ]);
      return (
        (await db.run('DELETE FROM notification_endpoints WHERE org_id = ? AND id = ?', [
          orgId,
          id,
        ])) > 0
      );
    },
    async endpointFailed(orgId, id, at) {
      const rows = await db.all<{ consecutive_failures: number }>(
        `UPDATE notification_endpoints SET consecutive_failures = consecutive_failures + 1,
           last_failure_at = ? WHERE org_id = ? AND id = ? RETURNING consecutive_failures`,
        [at, orgId, id],
      );
      return Number(rows[0]?.consecutive_failures ?? 0);
    },
    async openBreaker(orgId, id, until) {
      await db.run(
        'UPDATE notification_endpoints SET breaker_open_until = ? WHERE org_id = ? AND id = ?',
        [until, orgId, id],
      );
    },
    async endpointSucceeded(orgId, id, at) {
      await db.run(
        `UPDATE notification_endpoints SET consecutive_failures = 0, breaker_open_until = 0,
           last_success_at = ? WHERE org_id = ? AND id = ?`,
        [at, orgId, id],
      );
    },

    async createRule(r) {
      await db.run(
        `INSERT INTO notification_rules (name, enabled, location_id, min_severity, kinds,
           endpoint_ids, notify_resolved, escalation, updated_at, id, org_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [...ruleValues(r), r.id, r.orgId, r.createdAt],
      );
    },
    async getRule(orgId, id) {
      const row = (
        await db.all<RuleRow>('SELECT * FROM notification_rules WHERE org_id = ? AND id = ?', [
          orgId,
          id,
        ])
      )[0];
      return row && toRule(row);
    },
    async listRules(orgId) {
      const rows = await db.all<RuleRow>(
        'SELECT * FROM notification_rules WHERE org_id = ? ORDER BY id',
        [orgId],
      );
      return rows.map(toRule);
    },
    async updateRule(r) {
      return (
        (await db.run(
          `UPDATE notification_rules SET name = ?, enabled = ?, location_id = ?, min_severity = ?,
             kinds = ?, endpoint_ids = ?, notify_resolved = ?, escalation = ?, updated_at = ?
           WHERE id = ? AND org_id = ?`,
          [...ruleValues(r), r.id, r.orgId],
        )) > 0
      );
    },
    async deleteRule(orgId, id) {
      return (
        (await db.run('DELETE FROM notification_rules WHERE org_id = ? AND id = ?', [orgId, id])) >
        0
      );
    },

    async enqueue(deliveries) {
      for (const d of deliveries)
        await db.run(
          `INSERT INTO notification_deliveries (id, org_id, endpoint_id, alert_id, rule_id, event,
             payload, state, attempts, next_attempt_at, lease_holder, lease_until, last_error,
             created_at, updated_at, delivered_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, ?, ?)`,
          [
            d.id,
            d.orgId,
            d.endpointId,
            d.alertId,
            d.ruleId,
            d.event,
            JSON.stringify(d.payload),
            d.state,
            d.attempts,
            d.nextAttemptAt,
            d.lastError,
            d.createdAt,
            d.updatedAt,
            d.deliveredAt,
          ],
        );
    },
    async claimDue(now, holder, leaseUntil, limit) {
      // Most ticks find nothing due: ask with a read first. The UPDATE takes the database's write
      // lock even when it changes nothing, and on SQLite that waits (blocking the event loop) while
      // the message writer thread commits a batch.
      const due = await db.all<{ id: string }>(
        `SELECT d.id FROM notification_deliveries d
           JOIN notification_endpoints e ON e.id = d.endpoint_id
         WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.lease_until < ?
           AND e.enabled = 1 AND e.breaker_open_until <= ?
         LIMIT 1`,
        [now, now, now],
      );
      if (due.length === 0) return [];
      const rows = await db.all<DeliveryRow>(
        `UPDATE notification_deliveries SET lease_holder = ?, lease_until = ?
         WHERE id IN (
           SELECT d.id FROM notification_deliveries d
             JOIN notification_endpoints e ON e.id = d.endpoint_id
           WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.lease_until < ?
             AND e.enabled = 1 AND e.breaker_open_until <= ?
           ORDER BY d.next_attempt_at, d.id LIMIT ?)
         AND state = 'pending' AND lease_until < ?
         RETURNING *`,
        [holder, leaseUntil, now, now, now, limit, now],
      );
      return rows
        .map(toDelivery)
        .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
    },
    async settle(id, holder, o, at) {
      return (
        (await db.run(
          `UPDATE notification_deliveries SET state = ?, attempts = ?, next_attempt_at = ?,
             last_error = ?, delivered_at = ?, updated_at = ?, lease_holder = NULL, lease_until = 0
           WHERE id = ? AND lease_holder = ?`,
          [o.state, o.attempts, o.nextAttemptAt, o.lastError, o.deliveredAt, at, id, holder],
        )) > 0
      );
    },
    async release(holder, ids) {
      if (ids !== undefined && ids.length === 0) return;
      await db.run(
        `UPDATE notification_deliveries SET lease_holder = NULL, lease_until = 0
         WHERE lease_holder = ?${ids === undefined ? '' : ` AND id IN (${ids.map(() => '?').join(', ')})`}`,
        [holder, ...(ids ?? [])],
      );
    },
    getDelivery: (orgId, id) =>
      oneDelivery('SELECT * FROM notification_deliveries WHERE org_id = ? AND id = ?', [orgId, id]),
    async listDeliveries(orgId, filter, page) {
      const rows = await newestFirst<DeliveryRow>(
        db,
        'notification_deliveries',
        {
          org_id: orgId,
          state: filter.state,
          endpoint_id: filter.endpointId,
          alert_id: filter.alertId,
        },
        page,
      );
      return pageOf(rows, page.limit, toDelivery, (d) => encodeIdCursor(d.id));
    },
    pruneSettled: (before) =>
      db.run(
        `DELETE FROM notification_deliveries WHERE state IN ('delivered', 'canceled')
           AND updated_at < ?`,
        [before],
      ),
    redrive: (orgId, id, at) =>
      oneDelivery(
        `UPDATE notification_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,
           last_error = NULL, updated_at = ?, lease_holder = NULL, lease_until = 0
         WHERE org_id = ? AND id = ? AND state = 'dead' RETURNING *`,
        [at, at, orgId, id],
      ),

    async createWindow(w) {
      await db.run(
        `INSERT INTO maintenance_windows (id, org_id, location_id, kinds, starts_at, ends_at,
           reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          w.id,
          w.orgId,
          w.locationId,
          JSON.stringify(w.kinds),
          w.startsAt,
          w.endsAt,
          w.reason,
          w.createdBy,
          w.createdAt,
        ],
      );
    },
    async getWindow(orgId, id) {
      const row = (
        await db.all<WindowRow>('SELECT * FROM maintenance_windows WHERE org_id = ? AND id = ?', [
          orgId,
          id,
        ])
      )[0];
      return row && toWindow(row);
    },
    async listWindows(orgId, filter, limit) {
      const rows = await db.all<WindowRow>(
        `SELECT * FROM maintenance_windows WHERE org_id = ?${filter.endsAfter === undefined ? '' : ' AND ends_at > ?'}
         ORDER BY starts_at, id LIMIT ?`,
        [orgId, ...(filter.endsAfter === undefined ? [] : [filter.endsAfter]), limit],
      );
      return rows.map(toWindow);
    },
    async deleteWindow(orgId, id) {
      return (
        (await db.run('DELETE FROM maintenance_windows WHERE org_id = ? AND id = ?', [orgId, id])) >
        0
      );
    },
  };
}
