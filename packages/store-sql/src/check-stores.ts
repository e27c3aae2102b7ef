/**
 * The fleet audit checks' tables (migration 16, decision 0031) behind AuditCheckStore, in plain
 * SQL both dialects run (`?` placeholders; each adapter supplies its runner). A finding's identity
 * is (org, check, key), kept by a unique index; its resources are one JSON column.
 */
import type {
  AuditCheckStore,
  CheckId,
  FindingRecord,
  FindingSeverity,
  FirmwareAdvisoryRecord,
  FirmwareAdvisoryStatus,
  SuppressionRecord,
} from '@bulwark/core';
import { decodeIdCursor, encodeIdCursor } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';
import { pageOf } from './page.js';

/**
 * The migration-16 tables. `int` is BIGINT on PostgreSQL and INTEGER on SQLite; `idText` adds
 * PostgreSQL's "C" collation so ids sort byte-wise as in SQLite. An advisory goes with its
 * artifact (ON DELETE CASCADE).
 */
export function checksSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE check_findings (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  check_id text NOT NULL,
  finding_key text NOT NULL,
  severity text NOT NULL,
  message text NOT NULL,
  resources_json text NOT NULL,
  state text NOT NULL,
  first_seen_at ${int} NOT NULL,
  last_seen_at ${int} NOT NULL,
  resolved_at ${int}
);
CREATE UNIQUE INDEX check_findings_key ON check_findings (org_id, check_id, finding_key);
CREATE INDEX check_findings_org ON check_findings (org_id, id);
CREATE INDEX check_findings_open ON check_findings (org_id) WHERE state = 'open';
CREATE TABLE check_suppressions (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  check_id text NOT NULL,
  resource text,
  reason text NOT NULL,
  created_by text,
  created_at ${int} NOT NULL,
  expires_at ${int} NOT NULL
);
CREATE INDEX check_suppressions_org ON check_suppressions (org_id, expires_at);
CREATE TABLE firmware_advisories (
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  artifact_id ${idText} NOT NULL REFERENCES firmware_artifacts (id) ON DELETE CASCADE,
  status text NOT NULL,
  reason text NOT NULL,
  set_by text,
  set_at ${int} NOT NULL,
  PRIMARY KEY (org_id, artifact_id)
);
CREATE TABLE check_leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  lease_until ${int} NOT NULL
);
`;
}

interface FindingRow {
  id: string;
  org_id: string;
  check_id: string;
  finding_key: string;
  severity: string;
  message: string;
  resources_json: string;
  state: string;
  first_seen_at: number | string;
  last_seen_at: number | string;
  resolved_at: number | string | null;
}

interface SuppressionRow {
  id: string;
  org_id: string;
  check_id: string;
  resource: string | null;
  reason: string;
  created_by: string | null;
  created_at: number | string;
  expires_at: number | string;
}

interface AdvisoryRow {
  org_id: string;
  artifact_id: string;
  status: string;
  reason: string;
  set_by: string | null;
  set_at: number | string;
}

const toFinding = (r: FindingRow): FindingRecord => ({
  id: r.id,
  orgId: r.org_id,
  checkId: r.check_id as CheckId,
  key: r.finding_key,
  severity: r.severity as FindingSeverity,
  message: r.message,
  resources: JSON.parse(r.resources_json) as FindingRecord['resources'],
  state: r.state === 'resolved' ? 'resolved' : 'open',
  firstSeenAt: Number(r.first_seen_at),
  lastSeenAt: Number(r.last_seen_at),
  resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
});

const toSuppression = (r: SuppressionRow): SuppressionRecord => ({
  id: r.id,
  orgId: r.org_id,
  checkId: r.check_id as CheckId,
  resource: r.resource,
  reason: r.reason,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

const toAdvisory = (r: AdvisoryRow): FirmwareAdvisoryRecord => ({
  orgId: r.org_id,
  artifactId: r.artifact_id,
  status: r.status as FirmwareAdvisoryStatus,
  reason: r.reason,
  setBy: r.set_by,
  setAt: Number(r.set_at),
});

/** Most ids resolved per statement (well under either database's parameter limit). */
const RESOLVE_CHUNK = 500;

/** Builds the audit-check store on a dialect's runner. */
export function createAuditCheckStore(db: SqlRunner): AuditCheckStore {
  const findingByKey = async (orgId: string, checkId: string, key: string) =>
    (
      await db.all<FindingRow>(
        'SELECT * FROM check_findings WHERE org_id = ? AND check_id = ? AND finding_key = ?',
        [orgId, checkId, key],
      )
    )[0];
  return {
    async recordFinding(f) {
      const inserted = await db.run(
        `INSERT INTO check_findings (id, org_id, check_id, finding_key, severity, message,
           resources_json, state, first_seen_at, last_seen_at, resolved_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, NULL)
         ON CONFLICT (org_id, check_id, finding_key) DO NOTHING`,
        [
          f.id,
          f.orgId,
          f.checkId,
          f.key,
          f.severity,
          f.message,
          JSON.stringify(f.resources),
          f.firstSeenAt,
          f.lastSeenAt,
        ],
      );
      if (inserted > 0) return { finding: { ...f, state: 'open', resolvedAt: null }, opened: true };
      const row = await findingByKey(f.orgId, f.checkId, f.key);
      if (row === undefined) throw new Error('finding vanished between insert and update');
      const before = toFinding(row);
      const reopened = before.state === 'resolved';
      const firstSeenAt = reopened ? f.lastSeenAt : before.firstSeenAt;
      await db.run(
        `UPDATE check_findings SET severity = ?, message = ?, resources_json = ?, state = 'open',
           last_seen_at = ?, resolved_at = NULL, first_seen_at = ?
         WHERE org_id = ? AND id = ?`,
        [
          f.severity,
          f.message,
          JSON.stringify(f.resources),
          f.lastSeenAt,
          firstSeenAt,
          f.orgId,
          before.id,
        ],
      );
      return {
        finding: {
          ...before,
          severity: f.severity,
          message: f.message,
          resources: f.resources,
          state: 'open',
          firstSeenAt,
          lastSeenAt: f.lastSeenAt,
          resolvedAt: null,
        },
        opened: reopened,
      };
    },
    async listOpenFindings(orgId) {
      const rows = await db.all<FindingRow>(
        "SELECT * FROM check_findings WHERE org_id = ? AND state = 'open' ORDER BY id",
        [orgId],
      );
      return rows.map(toFinding);
    },
    async resolveFindings(orgId, ids, at) {
      let n = 0;
      for (let i = 0; i < ids.length; i += RESOLVE_CHUNK) {
        const chunk = ids.slice(i, i + RESOLVE_CHUNK);
        n += await db.run(
          `UPDATE check_findings SET state = 'resolved', resolved_at = ?
           WHERE org_id = ? AND state = 'open' AND id IN (${chunk.map(() => '?').join(', ')})`,
          [at, orgId, ...chunk],
        );
      }
      return n;
    },
    async listFindings(orgId, filter, page) {
      const where = ['org_id = ?'];
      const params: unknown[] = [orgId];
      for (const [column, value] of [
        ['check_id', filter.checkId],
        ['severity', filter.severity],
        ['state', filter.state],
      ] as const) {
        if (value === undefined) continue;
        where.push(`${column} = ?`);
        params.push(value);
      }
      if (page.cursor) {
        where.push('id < ?');
        params.push(decodeIdCursor(page.cursor));
      }
      const rows = await db.all<FindingRow>(
        `SELECT * FROM check_findings WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
        [...params, page.limit + 1],
      );
      return pageOf(rows, page.limit, toFinding, (f) => encodeIdCursor(f.id));
    },
    async getFinding(orgId, id) {
      const rows = await db.all<FindingRow>(
        'SELECT * FROM check_findings WHERE org_id = ? AND id = ?',
        [orgId, id],
      );
      return rows[0] && toFinding(rows[0]);
    },
    async createSuppression(s) {
      await db.run(
        `INSERT INTO check_suppressions (id, org_id, check_id, resource, reason, created_by,
           created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [s.id, s.orgId, s.checkId, s.resource, s.reason, s.createdBy, s.createdAt, s.expiresAt],
      );
    },
    async listSuppressions(orgId, now) {
      const rows = await db.all<SuppressionRow>(
        'SELECT * FROM check_suppressions WHERE org_id = ? AND expires_at > ? ORDER BY id DESC',
        [orgId, now],
      );
      return rows.map(toSuppression);
    },
    async deleteSuppression(orgId, id) {
      return (
        (await db.run('DELETE FROM check_suppressions WHERE org_id = ? AND id = ?', [orgId, id])) >
        0
      );
    },
    async putAdvisory(a) {
      await db.run(
        `INSERT INTO firmware_advisories (org_id, artifact_id, status, reason, set_by, set_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id, artifact_id) DO UPDATE SET status = excluded.status,
           reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at`,
        [a.orgId, a.artifactId, a.status, a.reason, a.setBy, a.setAt],
      );
    },
    async deleteAdvisory(orgId, artifactId) {
      return (
        (await db.run('DELETE FROM firmware_advisories WHERE org_id = ? AND artifact_id = ?', [
          orgId,
          artifactId,
        ])) > 0
      );
    },
    async listAdvisories(orgId) {
      const rows = await db.all<AdvisoryRow>(
        'SELECT * FROM firmware_advisories WHERE org_id = ? ORDER BY artifact_id DESC',
        [orgId],
      );
      return rows.map(toAdvisory);
    },
    async lease(name, holder, now, until) {
      const changed = await db.run(
        `INSERT INTO check_leases (name, holder, lease_until) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
           lease_until = excluded.lease_until
         WHERE check_leases.lease_until < ? OR check_leases.holder = ?`,
        [name, holder, until, now, holder],
      );
      return changed > 0;
    },
    async releaseLease(name, holder) {
      await db.run('UPDATE check_leases SET lease_until = 0 WHERE name = ? AND holder = ?', [
        name,
        holder,
      ]);
    },
  };
}
