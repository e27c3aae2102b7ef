/**
 * AlertStore in plain SQL both dialects run (`?` placeholders, upsert on the partial unique index
 * of active alerts, RETURNING). A raise is one statement per step, each atomic on its own, so two
 * nodes raising the same key at once end with one active alert whose count holds both.
 */
import type {
  AlertComment,
  AlertPatch,
  AlertRecord,
  AlertSeverity,
  AlertStore,
  RaiseOutcome,
} from '@bulwark/core';
import { decodeIdCursor, encodeIdCursor } from '@bulwark/core';
import { severityRankSql } from './alert-schema.js';
import type { SqlRunner } from './management-stores.js';
import { pageOf } from './page.js';

/** A row of `alerts` (migration 18). */
export interface AlertRow {
  id: string;
  org_id: string;
  device_id: string | null;
  kind: string;
  severity: string;
  state: string;
  title: string;
  dedup_key: string;
  group_key: string;
  evidence: string;
  occurrences: number;
  opened_at: number;
  last_seen_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  assignee: string | null;
  muted_until: number | null;
  mute_reason: string | null;
  updated_at: number;
}

interface CommentRow {
  id: string;
  org_id: string;
  alert_id: string;
  author: string;
  body: string;
  at: number;
}

const RANKED: readonly AlertSeverity[] = ['info', 'low', 'medium', 'high', 'critical'];

export const toAlert = (r: AlertRow): AlertRecord => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  kind: r.kind,
  severity: r.severity as AlertSeverity,
  state: r.state as AlertRecord['state'],
  title: r.title,
  dedupKey: r.dedup_key,
  groupKey: r.group_key,
  evidence: JSON.parse(r.evidence) as AlertRecord['evidence'],
  occurrences: r.occurrences,
  openedAt: r.opened_at,
  lastSeenAt: r.last_seen_at,
  acknowledgedAt: r.acknowledged_at,
  acknowledgedBy: r.acknowledged_by,
  resolvedAt: r.resolved_at,
  resolvedBy: r.resolved_by,
  assignee: r.assignee,
  mutedUntil: r.muted_until,
  muteReason: r.mute_reason,
  updatedAt: r.updated_at,
});

const toComment = (r: CommentRow): AlertComment => ({
  id: r.id,
  orgId: r.org_id,
  alertId: r.alert_id,
  author: r.author,
  body: r.body,
  at: r.at,
});

/** AlertPatch field → column. */
const PATCH_COLUMNS: Readonly<Record<keyof AlertPatch, string>> = {
  state: 'state',
  acknowledgedAt: 'acknowledged_at',
  acknowledgedBy: 'acknowledged_by',
  resolvedAt: 'resolved_at',
  resolvedBy: 'resolved_by',
  assignee: 'assignee',
  mutedUntil: 'muted_until',
  muteReason: 'mute_reason',
};

/** A repeat keeps the higher of the stored and the new severity. */
const HIGHER_SEVERITY = `severity = CASE WHEN ${severityRankSql('?')} > ${severityRankSql('severity')} THEN ? ELSE severity END`;

/** How often a raise retries when another node changed the same key between its steps. */
const RAISE_ATTEMPTS = 3;

/** The alert store on a dialect's runner. */
export function createAlertStore(db: SqlRunner): AlertStore {
  const one = async (sql: string, params: readonly unknown[]) =>
    (await db.all<AlertRow>(sql, params))[0];

  const raiseOnce = async (
    a: AlertRecord,
    reopenSince: number | null,
  ): Promise<{ alert: AlertRecord; outcome: RaiseOutcome }> => {
    const evidence = JSON.stringify(a.evidence);
    // 1. An active alert with the key counts the occurrence.
    const repeated = await one(
      `UPDATE alerts SET occurrences = occurrences + 1, last_seen_at = ?, updated_at = ?,
         evidence = ?, ${HIGHER_SEVERITY}
       WHERE org_id = ? AND dedup_key = ? AND state <> 'resolved' RETURNING *`,
      [a.lastSeenAt, a.updatedAt, evidence, a.severity, a.severity, a.orgId, a.dedupKey],
    );
    if (repeated) return { alert: toAlert(repeated), outcome: 'repeated' };
    // 2. Within the cool-down the last resolved one opens again (the unique index refuses it if
    //    another node opened one meanwhile: the caller retries from step 1).
    if (reopenSince !== null) {
      const reopened = await one(
        `UPDATE alerts SET state = 'open', occurrences = occurrences + 1, last_seen_at = ?,
           updated_at = ?, evidence = ?, resolved_at = NULL, resolved_by = NULL,
           acknowledged_at = NULL, acknowledged_by = NULL, ${HIGHER_SEVERITY}
         WHERE id = (SELECT id FROM alerts WHERE org_id = ? AND dedup_key = ? AND state = 'resolved'
                     AND resolved_at >= ? ORDER BY resolved_at DESC LIMIT 1)
           AND state = 'resolved' RETURNING *`,
        [
          a.lastSeenAt,
          a.updatedAt,
          evidence,
          a.severity,
          a.severity,
          a.orgId,
          a.dedupKey,
          reopenSince,
        ],
      );
      if (reopened) return { alert: toAlert(reopened), outcome: 'reopened' };
    }
    // 3. A new alert, unless another node inserted one this instant (then it counts there).
    const row = await one(
      `INSERT INTO alerts (id, org_id, device_id, kind, severity, state, title, dedup_key,
         group_key, evidence, occurrences, opened_at, last_seen_at, acknowledged_at,
         acknowledged_by, resolved_at, resolved_by, assignee, muted_until, mute_reason, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id, dedup_key) WHERE state <> 'resolved' DO UPDATE SET
         occurrences = alerts.occurrences + 1, last_seen_at = excluded.last_seen_at,
         updated_at = excluded.updated_at, evidence = excluded.evidence
       RETURNING *`,
      [
        a.id,
        a.orgId,
        a.deviceId,
        a.kind,
        a.severity,
        a.state,
        a.title,
        a.dedupKey,
        a.groupKey,
        evidence,
        a.occurrences,
        a.openedAt,
        a.lastSeenAt,
        a.acknowledgedAt,
        a.acknowledgedBy,
        a.resolvedAt,
        a.resolvedBy,
        a.assignee,
        a.mutedUntil,
        a.muteReason,
        a.updatedAt,
      ],
    );
    if (!row) throw new Error('alert upsert returned no row');
    return { alert: toAlert(row), outcome: row.id === a.id ? 'opened' : 'repeated' };
  };

  return {
    async raise(a, reopenSince) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await raiseOnce(a, reopenSince);
        } catch (err) {
          if (attempt >= RAISE_ATTEMPTS) throw err;
        }
      }
    },
    async resolveByKey(orgId, dedupKey, at, by) {
      const row = await one(
        `UPDATE alerts SET state = 'resolved', resolved_at = ?, resolved_by = ?, updated_at = ?
         WHERE org_id = ? AND dedup_key = ? AND state <> 'resolved' RETURNING *`,
        [at, by, at, orgId, dedupKey],
      );
      return row && toAlert(row);
    },
    async get(orgId, id) {
      const row = await one('SELECT * FROM alerts WHERE org_id = ? AND id = ?', [orgId, id]);
      return row && toAlert(row);
    },
    async update(orgId, id, from, patch, at) {
      const set = (Object.keys(patch) as (keyof AlertPatch)[]).filter(
        (k) => patch[k] !== undefined,
      );
      const row = await one(
        `UPDATE alerts SET ${[...set.map((k) => `${PATCH_COLUMNS[k]} = ?`), 'updated_at = ?'].join(', ')}
         WHERE org_id = ? AND id = ? AND state IN (${from.map(() => '?').join(', ')}) RETURNING *`,
        [...set.map((k) => patch[k]), at, orgId, id, ...from],
      );
      return row && toAlert(row);
    },
    async list(orgId, filter, page) {
      const where = ['org_id = ?'];
      const params: unknown[] = [orgId];
      const eq = (column: string, v: unknown) => {
        if (v === undefined) return;
        where.push(`${column} = ?`);
        params.push(v);
      };
      eq('state', filter.state);
      eq('device_id', filter.deviceId);
      eq('kind', filter.kind);
      eq('severity', filter.severity);
      eq('group_key', filter.groupKey);
      eq('assignee', filter.assignee);
      if (filter.active === true) where.push(`state <> 'resolved'`);
      if (filter.active === false) where.push(`state = 'resolved'`);
      if (page.cursor) {
        where.push('id < ?');
        params.push(decodeIdCursor(page.cursor));
      }
      const rows = await db.all<AlertRow>(
        `SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
        [...params, page.limit + 1],
      );
      return pageOf(rows, page.limit, toAlert, (a) => encodeIdCursor(a.id));
    },
    async groups(orgId, limit) {
      const rows = await db.all<{
        group_key: string;
        kind: string;
        n: number;
        rank: number;
        last: number;
      }>(
        `SELECT group_key, MIN(kind) AS kind, COUNT(*) AS n, MAX(${severityRankSql('severity')}) AS rank,
           MAX(last_seen_at) AS last
         FROM alerts WHERE org_id = ? AND state <> 'resolved'
         GROUP BY group_key ORDER BY last DESC, group_key LIMIT ?`,
        [orgId, limit],
      );
      return rows.map((r) => ({
        groupKey: r.group_key,
        kind: r.kind,
        count: Number(r.n),
        severity: RANKED[Number(r.rank)] ?? 'critical',
        lastSeenAt: Number(r.last),
      }));
    },
    async addComment(c) {
      await db.run(
        'INSERT INTO alert_comments (id, org_id, alert_id, author, body, at) VALUES (?, ?, ?, ?, ?, ?)',
        [c.id, c.orgId, c.alertId, c.author, c.body, c.at],
      );
    },
    async comments(orgId, alertId, limit) {
      const rows = await db.all<CommentRow>(
        'SELECT * FROM alert_comments WHERE org_id = ? AND alert_id = ? ORDER BY id LIMIT ?',
        [orgId, alertId, limit],
      );
      return rows.map(toComment);
    },
  };
}
