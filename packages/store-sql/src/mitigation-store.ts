/**
 * MitigationStore in plain SQL both dialects run (migration 21, decision 0036): policies and the
 * action log. A revert is a compare-and-set on the state (`applied` → `reverted`), so two reverts
 * racing on two nodes mark it once.
 */
import type { MitigationPolicyRecord, MitigationRecord, MitigationStore } from '@bulwark/core';
import { encodeIdCursor } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';
import { newestFirst, pageOf } from './page.js';

/**
 * Migration 21: mitigation policies and actions. The location of a policy is not a foreign key on
 * purpose: a policy whose location went matches no device (it never widens to the organization).
 * An action's policy and alert may go; the log keeps their ids.
 */
export function mitigationSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE mitigation_policies (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  enabled ${int} NOT NULL,
  kinds text NOT NULL,
  min_severity text NOT NULL,
  location_id ${idText},
  action text NOT NULL,
  params text NOT NULL,
  dry_run ${int} NOT NULL,
  created_by_type text NOT NULL,
  created_by_id ${idText} NOT NULL,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL
);
CREATE INDEX mitigation_policies_org ON mitigation_policies (org_id, id);
CREATE TABLE mitigations (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  alert_id ${idText},
  policy_id ${idText},
  actor text NOT NULL,
  action text NOT NULL,
  params text NOT NULL,
  state text NOT NULL,
  reason text,
  summary text NOT NULL,
  previous text,
  error text,
  at ${int} NOT NULL,
  reverted_at ${int},
  reverted_by text
);
CREATE INDEX mitigations_org ON mitigations (org_id, id);
CREATE INDEX mitigations_device ON mitigations (org_id, device_id, id);
CREATE INDEX mitigations_alert ON mitigations (org_id, alert_id, id);
`;
}

/**
 * Migration 25 (decision 0036, amendment "block_source"): an action may act on no device (a
 * `block_source` locks an address), so `device_id` may be null; and every node reads the live
 * blocks of every organization every few seconds, by action and time. PostgreSQL drops the
 * constraint in place; SQLite cannot, so `sqliteRebuild` copies the table (see the SQLite
 * migration).
 */
export function mitigationSourceBlocksSchema(dialect: 'sqlite' | 'postgres'): string {
  const index = 'CREATE INDEX mitigations_action_at ON mitigations (action, at);';
  if (dialect === 'postgres')
    return `ALTER TABLE mitigations ALTER COLUMN device_id DROP NOT NULL;\n${index}\n`;
  // SQLite: a new table without the NOT NULL, the rows copied, the old one dropped (nothing
  // references it), the indexes made again.
  return `
CREATE TABLE mitigations_v25 (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id TEXT REFERENCES devices (id) ON DELETE CASCADE,
  alert_id TEXT,
  policy_id TEXT,
  actor text NOT NULL,
  action text NOT NULL,
  params text NOT NULL,
  state text NOT NULL,
  reason text,
  summary text NOT NULL,
  previous text,
  error text,
  at INTEGER NOT NULL,
  reverted_at INTEGER,
  reverted_by text
);
INSERT INTO mitigations_v25 SELECT id, org_id, device_id, alert_id, policy_id, actor, action,
  params, state, reason, summary, previous, error, at, reverted_at, reverted_by FROM mitigations;
DROP TABLE mitigations;
ALTER TABLE mitigations_v25 RENAME TO mitigations;
CREATE INDEX mitigations_org ON mitigations (org_id, id);
CREATE INDEX mitigations_device ON mitigations (org_id, device_id, id);
CREATE INDEX mitigations_alert ON mitigations (org_id, alert_id, id);
${index}
`;
}

interface PolicyRow {
  id: string;
  org_id: string;
  name: string;
  enabled: number;
  kinds: string;
  min_severity: string;
  location_id: string | null;
  action: string;
  params: string;
  dry_run: number;
  created_by_type: string;
  created_by_id: string;
  created_at: number;
  updated_at: number;
}

interface MitigationRow {
  id: string;
  org_id: string;
  device_id: string | null;
  alert_id: string | null;
  policy_id: string | null;
  actor: string;
  action: string;
  params: string;
  state: string;
  reason: string | null;
  summary: string;
  previous: string | null;
  error: string | null;
  at: number;
  reverted_at: number | null;
  reverted_by: string | null;
}

const num = (v: number | string) => Number(v);
const numOrNull = (v: number | string | null) => (v === null ? null : Number(v));

const toPolicy = (r: PolicyRow): MitigationPolicyRecord => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  enabled: num(r.enabled) === 1,
  kinds: JSON.parse(r.kinds) as string[],
  minSeverity: r.min_severity as MitigationPolicyRecord['minSeverity'],
  locationId: r.location_id,
  action: r.action as MitigationPolicyRecord['action'],
  params: JSON.parse(r.params) as MitigationPolicyRecord['params'],
  dryRun: num(r.dry_run) === 1,
  createdBy: { type: r.created_by_type as 'user' | 'api_key', id: r.created_by_id },
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

const toMitigation = (r: MitigationRow): MitigationRecord => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  alertId: r.alert_id,
  policyId: r.policy_id,
  actor: r.actor,
  action: r.action as MitigationRecord['action'],
  params: JSON.parse(r.params) as MitigationRecord['params'],
  state: r.state as MitigationRecord['state'],
  reason: r.reason,
  summary: JSON.parse(r.summary) as string[],
  previous: r.previous === null ? null : (JSON.parse(r.previous) as MitigationRecord['previous']),
  error: r.error,
  at: num(r.at),
  revertedAt: numOrNull(r.reverted_at),
  revertedBy: r.reverted_by,
});

/** The policy columns a patch may set, with how a value is stored. */
const POLICY_PATCH: Record<string, [string, (v: never) => unknown]> = {
  name: ['name', (v: string) => v],
  enabled: ['enabled', (v: boolean) => (v ? 1 : 0)],
  kinds: ['kinds', (v: string[]) => JSON.stringify(v)],
  minSeverity: ['min_severity', (v: string) => v],
  locationId: ['location_id', (v: string | null) => v],
  action: ['action', (v: string) => v],
  params: ['params', (v: unknown) => JSON.stringify(v)],
  dryRun: ['dry_run', (v: boolean) => (v ? 1 : 0)],
  updatedAt: ['updated_at', (v: number) => v],
};

export function createMitigationStore(db: SqlRunner): MitigationStore {
  const onePolicy = async (sql: string, params: readonly unknown[]) => {
    const row = (await db.all<PolicyRow>(sql, params))[0];
    return row && toPolicy(row);
  };
  const oneMitigation = async (sql: string, params: readonly unknown[]) => {
    const row = (await db.all<MitigationRow>(sql, params))[0];
    return row && toMitigation(row);
  };
  return {
    async createPolicy(p) {
      await db.run(
        `INSERT INTO mitigation_policies (id, org_id, name, enabled, kinds, min_severity,
           location_id, action, params, dry_run, created_by_type, created_by_id, created_at,
           updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          p.id,
          p.orgId,
          p.name,
          p.enabled ? 1 : 0,
          JSON.stringify(p.kinds),
          p.minSeverity,
          p.locationId,
          p.action,
          JSON.stringify(p.params),
          p.dryRun ? 1 : 0,
          p.createdBy.type,
          p.createdBy.id,
          p.createdAt,
          p.updatedAt,
        ],
      );
    },
    getPolicy: (orgId, id) =>
      onePolicy('SELECT * FROM mitigation_policies WHERE org_id = ? AND id = ?', [orgId, id]),
    async listPolicies(orgId) {
      const rows = await db.all<PolicyRow>(
        'SELECT * FROM mitigation_policies WHERE org_id = ? ORDER BY id',
        [orgId],
      );
      return rows.map(toPolicy);
    },
    async updatePolicy(orgId, id, patch) {
      const sets: string[] = [];
      const params: unknown[] = [];
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        if (key === 'createdBy') {
          const by = value as { type: string; id: string };
          sets.push('created_by_type = ?', 'created_by_id = ?');
          params.push(by.type, by.id);
          continue;
        }
        const spec = POLICY_PATCH[key];
        if (!spec) continue;
        sets.push(`${spec[0]} = ?`);
        params.push(spec[1](value as never));
      }
      if (sets.length === 0) return this.getPolicy(orgId, id);
      return onePolicy(
        `UPDATE mitigation_policies SET ${sets.join(', ')} WHERE org_id = ? AND id = ? RETURNING *`,
        [...params, orgId, id],
      );
    },
    async deletePolicy(orgId, id) {
      return (
        (await db.run('DELETE FROM mitigation_policies WHERE org_id = ? AND id = ?', [orgId, id])) >
        0
      );
    },
    async record(m) {
      await db.run(
        `INSERT INTO mitigations (id, org_id, device_id, alert_id, policy_id, actor, action,
           params, state, reason, summary, previous, error, at, reverted_at, reverted_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          m.id,
          m.orgId,
          m.deviceId,
          m.alertId,
          m.policyId,
          m.actor,
          m.action,
          JSON.stringify(m.params),
          m.state,
          m.reason,
          JSON.stringify(m.summary),
          m.previous === null ? null : JSON.stringify(m.previous),
          m.error,
          m.at,
          m.revertedAt,
          m.revertedBy,
        ],
      );
    },
    get: (orgId, id) =>
      oneMitigation('SELECT * FROM mitigations WHERE org_id = ? AND id = ?', [orgId, id]),
    async list(orgId, filter, page) {
      const rows = await newestFirst<MitigationRow>(
        db,
        'mitigations',
        {
          org_id: orgId,
          device_id: filter.deviceId,
          alert_id: filter.alertId,
          state: filter.state,
        },
        page,
      );
      return pageOf(rows, page.limit, toMitigation, (m) => encodeIdCursor(m.id));
    },
    async listSourceBlocks(since) {
      const rows = await db.all<MitigationRow>(
        `SELECT * FROM mitigations WHERE action = 'block_source' AND at >= ? AND state = 'applied'
           ORDER BY at, id`,
        [since],
      );
      return rows.map(toMitigation);
    },
    markReverted: (orgId, id, at, by) =>
      oneMitigation(
        `UPDATE mitigations SET state = 'reverted', reverted_at = ?, reverted_by = ?
           WHERE org_id = ? AND id = ? AND state = 'applied' RETURNING *`,
        [at, by, orgId, id],
      ),
  };
}
