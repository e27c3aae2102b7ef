/** Rows of the `update_jobs` table (migration 7) and their mapping to records (JSON as text). */
import type { UpdateJobRecord } from '@bulwark/core';

export interface UpdateJobRow {
  action_id: number;
  id: string;
  org_id: string;
  device_id: string;
  artifact_id: string;
  rollout_id: string | null;
  origin: string;
  state: string;
  progress: string | null;
  reason: string | null;
  message: string | null;
  delta: string | null;
  history: string;
  /** JSON `{by, at}` of a pending cancel request (migration 10), or null. */
  cancel_requested: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  deadline: number;
  /** Grows by one with every write: the compare-and-set token of a transition. */
  rev: number;
}

const jsonOrNull = <T>(text: string | null): T | null =>
  text === null ? null : (JSON.parse(text) as T);

/** Row → record. */
export const toUpdateJob = (r: UpdateJobRow): UpdateJobRecord => ({
  id: r.id,
  actionId: Number(r.action_id),
  orgId: r.org_id,
  deviceId: r.device_id,
  artifactId: r.artifact_id,
  rolloutId: r.rollout_id,
  origin: r.origin as UpdateJobRecord['origin'],
  state: r.state as UpdateJobRecord['state'],
  progress: jsonOrNull(r.progress),
  reason: r.reason,
  message: r.message,
  delta: jsonOrNull(r.delta),
  history: JSON.parse(r.history) as UpdateJobRecord['history'],
  cancelRequested: jsonOrNull(r.cancel_requested),
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  deadline: Number(r.deadline),
});

/** The non-terminal states as a SQL list (the open-job index and the overdue sweep use it). */
export const OPEN_UPDATE_STATES_SQL =
  "('queued', 'delivered', 'downloading', 'downloaded', 'installing', 'rebooting')";

/**
 * The migration-7 table. `int` is BIGINT on PostgreSQL and INTEGER on SQLite, `idText` adds
 * PostgreSQL's "C" collation; `actionId` declares the hub-unique integer action id (SQLite:
 * `INTEGER PRIMARY KEY AUTOINCREMENT`, never reused; PostgreSQL: an identity column). A partial
 * unique index keeps at most one open job per device, across hub nodes.
 */
export function updateJobSchema(t: { int: string; idText: string; actionId: string }): string {
  const { int, idText, actionId } = t;
  return `
CREATE TABLE update_jobs (
  ${actionId},
  id ${idText} NOT NULL UNIQUE,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  artifact_id ${idText} NOT NULL,
  rollout_id ${idText},
  origin text NOT NULL,
  state text NOT NULL,
  progress text,
  reason text,
  message text,
  delta text,
  history text NOT NULL,
  created_by text NOT NULL,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL,
  deadline ${int} NOT NULL,
  rev ${int} NOT NULL
);
CREATE UNIQUE INDEX update_jobs_one_open ON update_jobs (device_id)
  WHERE state IN ${OPEN_UPDATE_STATES_SQL};
CREATE INDEX update_jobs_org ON update_jobs (org_id, id);
CREATE INDEX update_jobs_device ON update_jobs (org_id, device_id, id);
CREATE INDEX update_jobs_rollout ON update_jobs (org_id, rollout_id) WHERE rollout_id IS NOT NULL;
CREATE INDEX update_jobs_overdue ON update_jobs (deadline) WHERE state IN ${OPEN_UPDATE_STATES_SQL};
`;
}

/**
 * Migration 10 (decision 0015): a cancel is a request the device answers, so a job remembers the
 * pending one (`{by, at}` as JSON) until the device confirms or refuses it. Same in both dialects.
 */
export const UPDATE_JOB_CANCEL_REQUEST_SQL =
  'ALTER TABLE update_jobs ADD COLUMN cancel_requested text;';
