/**
 * The rollout and firmware-policy tables (migration 8) behind RolloutStore and FirmwarePolicyStore
 * (whose statements are in firmware-policy-store.ts), in plain SQL both dialects run (`?`
 * placeholders; each adapter supplies its runner). A rollout's fixed specification is one JSON
 * column; its mutable part and the tick lease are columns.
 */
import type {
  FirmwarePolicyStore,
  RolloutBaseline,
  RolloutRecord,
  RolloutSpec,
  RolloutState,
  RolloutStore,
} from '@bulwark/core';
import { createFirmwarePolicyStore } from './firmware-policy-store.js';
import type { SqlRunner } from './management-stores.js';

/**
 * The migration-8 tables. `int` is BIGINT on PostgreSQL and INTEGER on SQLite; `idText` adds
 * PostgreSQL's "C" collation so ids sort byte-wise as in SQLite. A policy goes with its artifact
 * (ON DELETE CASCADE); a rollout outlives it (the tick pauses it with `artifact_missing`).
 */
export function rolloutSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE rollouts (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  artifact_id ${idText} NOT NULL,
  spec_json text NOT NULL,
  state text NOT NULL,
  pause_reason text,
  pause_detail_json text,
  baseline_json text NOT NULL,
  lease_holder text,
  lease_until ${int} NOT NULL,
  created_by text NOT NULL,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL
);
CREATE INDEX rollouts_org ON rollouts (org_id, id);
CREATE INDEX rollouts_running ON rollouts (id) WHERE state = 'running';
CREATE TABLE firmware_policies (
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_type ${idText} NOT NULL,
  artifact_id ${idText} NOT NULL REFERENCES firmware_artifacts (id) ON DELETE CASCADE,
  set_by text NOT NULL,
  set_at ${int} NOT NULL,
  PRIMARY KEY (org_id, device_type)
);
`;
}

/** A row of `rollouts`. */
export interface RolloutRow {
  id: string;
  org_id: string;
  name: string;
  artifact_id: string;
  spec_json: string;
  state: string;
  pause_reason: string | null;
  pause_detail_json: string | null;
  baseline_json: string;
  created_by: string;
  created_at: number | string;
  updated_at: number | string;
}

export const toRollout = (r: RolloutRow): RolloutRecord => {
  const spec = JSON.parse(r.spec_json) as RolloutSpec;
  return {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    artifactId: r.artifact_id,
    target: spec.target,
    phases: spec.phases,
    maxConcurrent: spec.maxConcurrent,
    ratePerMinute: spec.ratePerMinute,
    failureThreshold: spec.failureThreshold,
    window: spec.window,
    state: r.state as RolloutState,
    pauseReason: r.pause_reason,
    pauseDetail:
      r.pause_detail_json === null
        ? null
        : (JSON.parse(r.pause_detail_json) as Record<string, string | number>),
    baseline: JSON.parse(r.baseline_json) as RolloutBaseline,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
};

const specOf = (r: RolloutRecord): RolloutSpec => ({
  target: r.target,
  phases: r.phases,
  maxConcurrent: r.maxConcurrent,
  ratePerMinute: r.ratePerMinute,
  failureThreshold: r.failureThreshold,
  window: r.window,
});

/** The two stores of migration 8. */
export interface RolloutStores {
  rollouts: RolloutStore;
  firmwarePolicies: FirmwarePolicyStore;
}

/** Builds the rollout and firmware-policy stores on a dialect's runner. */
export function createRolloutStores(db: SqlRunner): RolloutStores {
  const rollouts: RolloutStore = {
    async create(r) {
      await db.run(
        `INSERT INTO rollouts (id, org_id, name, artifact_id, spec_json, state, pause_reason,
           pause_detail_json, baseline_json, lease_holder, lease_until, created_by, created_at,
           updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, ?)`,
        [
          r.id,
          r.orgId,
          r.name,
          r.artifactId,
          JSON.stringify(specOf(r)),
          r.state,
          r.pauseReason,
          r.pauseDetail === null ? null : JSON.stringify(r.pauseDetail),
          JSON.stringify(r.baseline),
          r.createdBy,
          r.createdAt,
          r.updatedAt,
        ],
      );
    },
    async get(orgId, id) {
      const rows = await db.all<RolloutRow>('SELECT * FROM rollouts WHERE org_id = ? AND id = ?', [
        orgId,
        id,
      ]);
      return rows[0] && toRollout(rows[0]);
    },
    async list(orgId, q) {
      const where = ['org_id = ?'];
      const params: unknown[] = [orgId];
      if (q.state !== undefined) {
        where.push('state = ?');
        params.push(q.state);
      }
      if (q.artifactId !== undefined) {
        where.push('artifact_id = ?');
        params.push(q.artifactId);
      }
      if (q.before !== undefined) {
        where.push('id < ?');
        params.push(q.before);
      }
      const rows = await db.all<RolloutRow>(
        `SELECT * FROM rollouts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
        [...params, q.limit],
      );
      return rows.map(toRollout);
    },
    async listRunning(limit, after) {
      const rows = await db.all<RolloutRow>(
        `SELECT * FROM rollouts WHERE state = 'running' AND id > ? ORDER BY id LIMIT ?`,
        [after ?? '', limit],
      );
      return rows.map(toRollout);
    },
    async update(orgId, id, from, patch) {
      if (from.length === 0) return false;
      const sets = ['state = ?', 'pause_reason = ?', 'pause_detail_json = ?', 'updated_at = ?'];
      const params: unknown[] = [
        patch.state,
        patch.pauseReason,
        patch.pauseDetail === null ? null : JSON.stringify(patch.pauseDetail),
        patch.updatedAt,
      ];
      if (patch.baseline !== undefined) {
        sets.push('baseline_json = ?');
        params.push(JSON.stringify(patch.baseline));
      }
      const changed = await db.run(
        `UPDATE rollouts SET ${sets.join(', ')}
         WHERE org_id = ? AND id = ? AND state IN (${from.map(() => '?').join(', ')})`,
        [...params, orgId, id, ...from],
      );
      return changed > 0;
    },
    async lease(orgId, id, holder, now, until) {
      const changed = await db.run(
        `UPDATE rollouts SET lease_holder = ?, lease_until = ?
         WHERE org_id = ? AND id = ? AND (lease_until < ? OR lease_holder = ?)`,
        [holder, until, orgId, id, now, holder],
      );
      return changed > 0;
    },
    async releaseLeases(holder) {
      return db.run(
        `UPDATE rollouts SET lease_holder = NULL, lease_until = 0 WHERE lease_holder = ?`,
        [holder],
      );
    },
  };

  const firmwarePolicies = createFirmwarePolicyStore(db);

  return { rollouts, firmwarePolicies };
}
