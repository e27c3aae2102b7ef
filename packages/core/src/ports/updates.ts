/**
 * Update-job storage (DESIGN.md §6, protocol updates.ts). One job installs one artifact on one
 * device; a device has at most one open (non-terminal) job at a time. Times are epoch
 * milliseconds. Every query over tenant data takes `orgId`; hub-wide sweeps say so.
 */
import type { DeltaSaving, UpdateJobState } from '@bulwark/protocol';

/**
 * What a history entry records besides a change of state: a cancel asked for (by a user, key or
 * the hub) or refused by the device, a device's message that changed no state (a DDI feedback's
 * details, an MQTT status with a reason or message), or the note that older entries were dropped.
 */
export type UpdateJobEvent = 'cancel_requested' | 'cancel_refused' | 'feedback' | 'truncated';

/** One step of a job's life, kept in order. */
export interface UpdateJobHistoryEntry {
  /** The job's state after this entry (unchanged for an `event` entry). */
  state: UpdateJobState;
  at: number;
  /** Machine code for failed / rejected / rolled_back / timed_out / canceled. */
  reason?: string;
  message?: string;
  /** Who caused it when not the device (a user, API key or the hub itself). */
  by?: string;
  /** Set when the entry is not (only) a change of state. */
  event?: UpdateJobEvent;
  /** For a `truncated` note: how many entries were dropped so far. */
  dropped?: number;
}

/** A cancel asked for and not answered yet: who asked, when (epoch ms). */
export interface UpdateJobCancelRequest {
  by: string;
  at: number;
}

export interface UpdateJobRecord {
  /** A UUIDv7. */
  id: string;
  /**
   * A positive integer unique across the hub, assigned by the store on create: the hawkBit DDI
   * `actionId` (its clients parse action ids as integers).
   */
  actionId: number;
  orgId: string;
  deviceId: string;
  artifactId: string;
  /** The rollout that created it, or null for a single deployment / auto-upgrade. */
  rolloutId: string | null;
  /** What created it: `deploy` (a person or API call), `rollout`, `auto-upgrade`. */
  origin: 'deploy' | 'rollout' | 'auto-upgrade';
  state: UpdateJobState;
  /** Latest download progress, or null before downloading. */
  progress: { bytes: number; total: number } | null;
  /** The last reason / message (for a terminal failure: why). */
  reason: string | null;
  message: string | null;
  delta: DeltaSaving | null;
  history: UpdateJobHistoryEntry[];
  /**
   * A cancel the device has not answered yet (decision 0015): the job stays in its state until
   * the device confirms (`canceled`) or refuses (the request is dropped); null otherwise.
   */
  cancelRequested: UpdateJobCancelRequest | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** The job is `timed_out` if still open at this time. */
  deadline: number;
}

/**
 * A change of a job's state, progress, cancel request or history, applied only if the stored
 * state is `from` (and, with `expectCancelRequested`, only if a cancel request is / is not
 * pending). `to` may equal `from` (progress, a note, a cancel request). Never from a terminal state.
 */
export interface UpdateJobTransition {
  from: UpdateJobState;
  to: UpdateJobState;
  at: number;
  progress?: { bytes: number; total: number } | null;
  reason?: string | null;
  message?: string | null;
  delta?: DeltaSaving | null;
  /** Sets (or with null clears) the pending cancel request. */
  cancelRequested?: UpdateJobCancelRequest | null;
  expectCancelRequested?: boolean;
  /**
   * Appended to the history in order (none for a progress-only update within `downloading`); the
   * store keeps it bounded with `appendUpdateJobHistory`.
   */
  entries?: UpdateJobHistoryEntry[];
}

export interface UpdateJobListQuery {
  deviceId?: string;
  rolloutId?: string;
  artifactId?: string;
  origin?: UpdateJobRecord['origin'];
  /** Only jobs of devices whose registered type is this (an auto-upgrade policy's jobs). */
  deviceType?: string;
  /** Only jobs created at or after this time (epoch ms). */
  createdSince?: number;
  states?: UpdateJobState[];
  /** Newest first: only jobs with an id below this. */
  before?: string;
  limit: number;
}

export interface UpdateJobStore {
  /**
   * Stores a new job and returns it with its `actionId`. Throws `update_job_open` (BulwarkError)
   * when the device already has a non-terminal job (one open job per device, enforced by the
   * database so two hub nodes cannot both create one).
   */
  create(job: Omit<UpdateJobRecord, 'actionId'>): Promise<UpdateJobRecord>;
  get(orgId: string, id: string): Promise<UpdateJobRecord | undefined>;
  getByActionId(orgId: string, actionId: number): Promise<UpdateJobRecord | undefined>;
  /** Newest first. */
  list(orgId: string, q: UpdateJobListQuery): Promise<UpdateJobRecord[]>;
  /** The device's open job, if any. */
  openForDevice(orgId: string, deviceId: string): Promise<UpdateJobRecord | undefined>;
  /** The open jobs of these devices (at most one each), oldest first, at most `limit`. */
  openForDevices(
    orgId: string,
    deviceIds: readonly string[],
    limit: number,
  ): Promise<UpdateJobRecord[]>;
  /** Compare-and-set on the state; false (nothing changed) when the stored state is not `t.from`. */
  transition(orgId: string, id: string, t: UpdateJobTransition): Promise<boolean>;
  /** How many of the rollout's jobs are in each state (states with none are absent). */
  countByRollout(
    orgId: string,
    rolloutId: string,
  ): Promise<Partial<Record<UpdateJobState, number>>>;
  /** Ids of the devices that have any job (any state) of this rollout. */
  devicesInRollout(orgId: string, rolloutId: string): Promise<string[]>;
  /** Hub-wide: open jobs whose deadline is before `now`, at most `limit`. */
  listOverdue(now: number, limit: number): Promise<UpdateJobRecord[]>;
}
