/**
 * UpdateJobStore on the shared SQL runner (both dialects run the same statements with `?`
 * placeholders). The open-job rule is the database's: a partial unique index on the device over the
 * non-terminal states, so `create` is an INSERT … ON CONFLICT DO NOTHING RETURNING the action id,
 * and no row back means the device already has an open job. Transitions are compare-and-set on the
 * row's `rev`, retried a few times while the state is still the expected one; a job in a terminal
 * state is never changed.
 */
import { appendUpdateJobHistory, type UpdateJobRecord, type UpdateJobStore } from '@bulwark/core';
import { BulwarkError, isTerminalUpdateState } from '@bulwark/protocol';
import type { SqlRunner } from './management-stores.js';
import { OPEN_UPDATE_STATES_SQL, toUpdateJob, type UpdateJobRow } from './update-job-rows.js';

/** A transition is retried this often when another writer changed the row meanwhile. */
const CAS_ATTEMPTS = 5;

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const jsonOrNull = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/** Builds the update-job store on a dialect's runner. */
export function createUpdateJobStore(db: SqlRunner): UpdateJobStore {
  const row = async (sql: string, params: readonly unknown[]) =>
    (await db.all<UpdateJobRow>(sql, params))[0];

  const store: UpdateJobStore = {
    async create(j) {
      const rows = await db.all<{ action_id: number }>(
        `INSERT INTO update_jobs (id, org_id, device_id, artifact_id, rollout_id, origin, state,
           progress, reason, message, delta, history, cancel_requested, created_by, created_at,
           updated_at, deadline, rev)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT DO NOTHING RETURNING action_id`,
        [
          j.id,
          j.orgId,
          j.deviceId,
          j.artifactId,
          j.rolloutId,
          j.origin,
          j.state,
          jsonOrNull(j.progress),
          j.reason,
          j.message,
          jsonOrNull(j.delta),
          JSON.stringify(j.history),
          jsonOrNull(j.cancelRequested),
          j.createdBy,
          j.createdAt,
          j.updatedAt,
          j.deadline,
        ],
      );
      const first = rows[0];
      if (!first) {
        throw new BulwarkError('update_job_open', 'the device already has an open update job', {
          extra: { deviceId: j.deviceId },
        });
      }
      return { ...j, actionId: Number(first.action_id) };
    },

    async get(orgId, id) {
      const r = await row('SELECT * FROM update_jobs WHERE org_id = ? AND id = ?', [orgId, id]);
      return r && toUpdateJob(r);
    },

    async getByActionId(orgId, actionId) {
      const r = await row('SELECT * FROM update_jobs WHERE org_id = ? AND action_id = ?', [
        orgId,
        actionId,
      ]);
      return r && toUpdateJob(r);
    },

    async list(orgId, q) {
      const where = ['org_id = ?'];
      const params: unknown[] = [orgId];
      const eq = (column: string, v: string | undefined) => {
        if (v === undefined) return;
        where.push(`${column} = ?`);
        params.push(v);
      };
      eq('device_id', q.deviceId);
      eq('rollout_id', q.rolloutId);
      eq('artifact_id', q.artifactId);
      eq('origin', q.origin);
      if (q.deviceType !== undefined) {
        where.push('device_id IN (SELECT id FROM devices WHERE org_id = ? AND type = ?)');
        params.push(orgId, q.deviceType);
      }
      if (q.createdSince !== undefined) {
        where.push('created_at >= ?');
        params.push(q.createdSince);
      }
      if (q.states !== undefined) {
        if (q.states.length === 0) return [];
        where.push(`state IN (${marks(q.states.length)})`);
        params.push(...q.states);
      }
      if (q.before !== undefined) {
        where.push('id < ?');
        params.push(q.before);
      }
      const rows = await db.all<UpdateJobRow>(
        `SELECT * FROM update_jobs WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
        [...params, Math.max(0, Math.floor(q.limit))],
      );
      return rows.map(toUpdateJob);
    },

    async openForDevice(orgId, deviceId) {
      const r = await row(
        `SELECT * FROM update_jobs WHERE org_id = ? AND device_id = ?
           AND state IN ${OPEN_UPDATE_STATES_SQL}`,
        [orgId, deviceId],
      );
      return r && toUpdateJob(r);
    },

    async openForDevices(orgId, deviceIds, limit) {
      const out: UpdateJobRecord[] = [];
      for (let i = 0; i < deviceIds.length && out.length < limit; i += 500) {
        const ids = deviceIds.slice(i, i + 500);
        const rows = await db.all<UpdateJobRow>(
          `SELECT * FROM update_jobs WHERE org_id = ? AND device_id IN (${marks(ids.length)})
             AND state IN ${OPEN_UPDATE_STATES_SQL}
           ORDER BY id LIMIT ?`,
          [orgId, ...ids, limit - out.length],
        );
        out.push(...rows.map(toUpdateJob));
      }
      return out;
    },

    async transition(orgId, id, t) {
      // Terminal states never change, whatever the caller asks (defence in depth).
      if (isTerminalUpdateState(t.from)) return false;
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const cur = await row('SELECT * FROM update_jobs WHERE org_id = ? AND id = ?', [orgId, id]);
        if (!cur || cur.state !== t.from) return false;
        const rec = toUpdateJob(cur);
        if (
          t.expectCancelRequested !== undefined &&
          (rec.cancelRequested !== null) !== t.expectCancelRequested
        )
          return false;
        const next: UpdateJobRecord = {
          ...rec,
          state: t.to,
          updatedAt: t.at,
          ...(t.progress !== undefined ? { progress: t.progress } : {}),
          ...(t.reason !== undefined ? { reason: t.reason } : {}),
          ...(t.message !== undefined ? { message: t.message } : {}),
          ...(t.delta !== undefined ? { delta: t.delta } : {}),
          ...(t.cancelRequested !== undefined ? { cancelRequested: t.cancelRequested } : {}),
          // Bounded: the oldest device messages go first, with a note (decision 0015).
          history: t.entries?.length ? appendUpdateJobHistory(rec.history, t.entries) : rec.history,
        };
        const n = await db.run(
          `UPDATE update_jobs SET state = ?, updated_at = ?, progress = ?, reason = ?, message = ?,
             delta = ?, history = ?, cancel_requested = ?, rev = rev + 1
           WHERE org_id = ? AND id = ? AND state = ? AND rev = ?`,
          [
            next.state,
            next.updatedAt,
            jsonOrNull(next.progress),
            next.reason,
            next.message,
            jsonOrNull(next.delta),
            JSON.stringify(next.history),
            jsonOrNull(next.cancelRequested),
            orgId,
            id,
            t.from,
            cur.rev,
          ],
        );
        if (n === 1) return true;
      }
      return false;
    },

    async countByRollout(orgId, rolloutId) {
      const rows = await db.all<{ state: UpdateJobRecord['state']; n: number }>(
        `SELECT state, count(*) AS n FROM update_jobs WHERE org_id = ? AND rollout_id = ?
         GROUP BY state`,
        [orgId, rolloutId],
      );
      const out: Partial<Record<UpdateJobRecord['state'], number>> = {};
      for (const r of rows) out[r.state] = Number(r.n);
      return out;
    },

    async devicesInRollout(orgId, rolloutId) {
      const rows = await db.all<{ device_id: string }>(
        `SELECT DISTINCT device_id FROM update_jobs WHERE org_id = ? AND rollout_id = ?
         ORDER BY device_id`,
        [orgId, rolloutId],
      );
      return rows.map((r) => r.device_id);
    },

    async listOverdue(now, limit) {
      const rows = await db.all<UpdateJobRow>(
        `SELECT * FROM update_jobs WHERE state IN ${OPEN_UPDATE_STATES_SQL} AND deadline < ?
         ORDER BY deadline LIMIT ?`,
        [now, Math.max(0, Math.floor(limit))],
      );
      return rows.map(toUpdateJob);
    },
  };
  return store;
}
