/**
 * The auto-upgrade policy table behind FirmwarePolicyStore, in plain SQL both dialects run (`?`
 * placeholders; each adapter supplies its runner). The table is migration 8's; the limits, state,
 * wake counters and tick lease are one later migration (`firmwarePolicyGateSchema`).
 */
import type {
  FirmwarePolicyRecord,
  FirmwarePolicyState,
  FirmwarePolicyStore,
  FirmwarePolicyWake,
} from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';

/**
 * The columns of the auto-upgrade gate (decision 0011): the limits as one JSON column, the state
 * with its pause and resume marks, wake counters for the tick (`wake_seq > idle_seq`: the tick has
 * work; `backlog_seq > drained_seq`: devices may be held back) and the tick lease. A policy set
 * before this migration gets the defaults of that release written here, on purpose as literals: a
 * shipped migration never changes with the code.
 */
export function firmwarePolicyGateSchema(t: { int: string }): string {
  const { int } = t;
  const add = (col: string) => `ALTER TABLE firmware_policies ADD COLUMN ${col};`;
  return [
    add(
      `limits_json text NOT NULL DEFAULT '{"maxConcurrent":2,"ratePerMinute":null,` +
        `"failureThreshold":{"percent":20,"minDevices":2},"window":null}'`,
    ),
    add(`state text NOT NULL DEFAULT 'active'`),
    add('pause_reason text'),
    add('pause_detail_json text'),
    add(`baseline_json text NOT NULL DEFAULT '{"failures":0,"finished":0}'`),
    add(`updated_at ${int} NOT NULL DEFAULT 0`),
    add(`wake_seq ${int} NOT NULL DEFAULT 1`),
    add(`idle_seq ${int} NOT NULL DEFAULT 0`),
    add(`backlog_seq ${int} NOT NULL DEFAULT 1`),
    add(`drained_seq ${int} NOT NULL DEFAULT 0`),
    add('lease_holder text'),
    add(`lease_until ${int} NOT NULL DEFAULT 0`),
    'UPDATE firmware_policies SET updated_at = set_at;',
    // A policy's jobs are read by artifact, newest first, on every step.
    `CREATE INDEX update_jobs_auto_upgrade ON update_jobs (org_id, artifact_id, id)
       WHERE origin = 'auto-upgrade';`,
    `CREATE INDEX firmware_policies_awake ON firmware_policies (org_id, device_type)
       WHERE state = 'active' AND wake_seq > idle_seq;`,
  ].join('\n');
}

/** A row of `firmware_policies`. */
export interface FirmwarePolicyRow {
  org_id: string;
  device_type: string;
  artifact_id: string;
  set_by: string;
  set_at: number | string;
  limits_json: string;
  state: string;
  pause_reason: string | null;
  pause_detail_json: string | null;
  baseline_json: string;
  updated_at: number | string;
  wake_seq: number | string;
  idle_seq: number | string;
  backlog_seq: number | string;
  drained_seq: number | string;
}

type Limits = Pick<
  FirmwarePolicyRecord,
  'maxConcurrent' | 'ratePerMinute' | 'failureThreshold' | 'window'
>;

const toPolicy = (r: FirmwarePolicyRow): FirmwarePolicyRecord => {
  const limits = JSON.parse(r.limits_json) as Limits;
  return {
    orgId: r.org_id,
    deviceType: r.device_type,
    artifactId: r.artifact_id,
    setBy: r.set_by,
    setAt: Number(r.set_at),
    maxConcurrent: limits.maxConcurrent,
    ratePerMinute: limits.ratePerMinute,
    failureThreshold: limits.failureThreshold,
    window: limits.window,
    state: r.state as FirmwarePolicyState,
    pauseReason: r.pause_reason,
    pauseDetail:
      r.pause_detail_json === null
        ? null
        : (JSON.parse(r.pause_detail_json) as Record<string, string | number>),
    baseline: JSON.parse(r.baseline_json) as FirmwarePolicyRecord['baseline'],
    updatedAt: Number(r.updated_at),
  };
};

const toWake = (r: FirmwarePolicyRow): FirmwarePolicyWake => ({
  seq: Number(r.wake_seq),
  backlogSeq: Number(r.backlog_seq),
  backlog: Number(r.backlog_seq) > Number(r.drained_seq),
});

const limitsOf = (p: FirmwarePolicyRecord): Limits => ({
  maxConcurrent: p.maxConcurrent,
  ratePerMinute: p.ratePerMinute,
  failureThreshold: p.failureThreshold,
  window: p.window,
});

const json = (v: unknown) => (v === null ? null : JSON.stringify(v));

/** Builds the firmware-policy store on a dialect's runner. */
export function createFirmwarePolicyStore(db: SqlRunner): FirmwarePolicyStore {
  const key = 'org_id = ? AND device_type = ?';
  return {
    async put(p) {
      await db.run(
        `INSERT INTO firmware_policies (org_id, device_type, artifact_id, set_by, set_at,
           limits_json, state, pause_reason, pause_detail_json, baseline_json, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id, device_type) DO UPDATE SET artifact_id = excluded.artifact_id,
           set_by = excluded.set_by, set_at = excluded.set_at,
           limits_json = excluded.limits_json, state = excluded.state,
           pause_reason = excluded.pause_reason, pause_detail_json = excluded.pause_detail_json,
           baseline_json = excluded.baseline_json, updated_at = excluded.updated_at,
           wake_seq = firmware_policies.wake_seq + 1,
           backlog_seq = firmware_policies.backlog_seq + 1`,
        [
          p.orgId,
          p.deviceType,
          p.artifactId,
          p.setBy,
          p.setAt,
          JSON.stringify(limitsOf(p)),
          p.state,
          p.pauseReason,
          json(p.pauseDetail),
          JSON.stringify(p.baseline),
          p.updatedAt,
        ],
      );
    },
    async get(orgId, deviceType) {
      const rows = await db.all<FirmwarePolicyRow>(`SELECT * FROM firmware_policies WHERE ${key}`, [
        orgId,
        deviceType,
      ]);
      return rows[0] && toPolicy(rows[0]);
    },
    async delete(orgId, deviceType) {
      return (await db.run(`DELETE FROM firmware_policies WHERE ${key}`, [orgId, deviceType])) > 0;
    },
    async list(orgId) {
      const rows = await db.all<FirmwarePolicyRow>(
        'SELECT * FROM firmware_policies WHERE org_id = ? ORDER BY device_type',
        [orgId],
      );
      return rows.map(toPolicy);
    },
    async update(orgId, deviceType, setAt, from, patch) {
      if (from.length === 0) return false;
      const sets = ['state = ?', 'pause_reason = ?', 'pause_detail_json = ?', 'updated_at = ?'];
      const params: unknown[] = [
        patch.state,
        patch.pauseReason,
        json(patch.pauseDetail),
        patch.updatedAt,
      ];
      if (patch.baseline !== undefined) {
        sets.push('baseline_json = ?');
        params.push(JSON.stringify(patch.baseline));
      }
      // Leaving `paused` wakes the policy: held-back devices get their turn.
      sets.push(
        `wake_seq = wake_seq + 1`,
        `backlog_seq = backlog_seq + ${patch.state === 'active' ? 1 : 0}`,
      );
      const changed = await db.run(
        `UPDATE firmware_policies SET ${sets.join(', ')}
         WHERE ${key} AND set_at = ? AND state IN (${from.map(() => '?').join(', ')})`,
        [...params, orgId, deviceType, setAt, ...from],
      );
      return changed > 0;
    },
    async wake(orgId, deviceType, backlog) {
      await db.run(
        `UPDATE firmware_policies SET wake_seq = wake_seq + 1, backlog_seq = backlog_seq + ?
         WHERE ${key}`,
        [backlog ? 1 : 0, orgId, deviceType],
      );
    },
    async settle(orgId, deviceType, wake, s) {
      if (!s.drained && !s.idle) return;
      // Only up to what the step saw: a wake that came in meanwhile keeps the policy awake.
      await db.run(
        `UPDATE firmware_policies SET
           drained_seq = CASE WHEN ? = 1 AND drained_seq < ? THEN ? ELSE drained_seq END,
           idle_seq = CASE WHEN ? = 1 AND idle_seq < ? THEN ? ELSE idle_seq END
         WHERE ${key}`,
        [
          s.drained ? 1 : 0,
          wake.backlogSeq,
          wake.backlogSeq,
          s.idle ? 1 : 0,
          wake.seq,
          wake.seq,
          orgId,
          deviceType,
        ],
      );
    },
    async listAwake(limit, after) {
      const rows = await db.all<FirmwarePolicyRow>(
        `SELECT * FROM firmware_policies
         WHERE state = 'active' AND wake_seq > idle_seq
           AND (org_id > ? OR (org_id = ? AND device_type > ?))
         ORDER BY org_id, device_type LIMIT ?`,
        [after?.orgId ?? '', after?.orgId ?? '', after?.deviceType ?? '', limit],
      );
      return rows.map((r) => ({ ...toPolicy(r), wake: toWake(r) }));
    },
    async lease(orgId, deviceType, holder, now, until) {
      const changed = await db.run(
        `UPDATE firmware_policies SET lease_holder = ?, lease_until = ?
         WHERE ${key} AND (lease_until < ? OR lease_holder = ?)`,
        [holder, until, orgId, deviceType, now, holder],
      );
      return changed > 0;
    },
    async releaseLeases(holder) {
      return db.run(
        `UPDATE firmware_policies SET lease_holder = NULL, lease_until = 0 WHERE lease_holder = ?`,
        [holder],
      );
    },
  };
}
