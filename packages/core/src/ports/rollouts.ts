/**
 * Rollout and auto-upgrade policy storage (issue 6, decision 0011). A rollout's specification
 * (target, phases, limits, window) never changes after creation; its state, pause and resume marks
 * and the tick lease do. Times are epoch milliseconds; every tenant query takes `orgId`.
 */
import type { RolloutPhase, RolloutTarget, RolloutWindow } from '@bulwark/protocol';

export type RolloutState = 'running' | 'paused' | 'canceled' | 'completed';

/** What a rollout does: fixed at creation. */
export interface RolloutSpec {
  target: RolloutTarget;
  /** Cumulative; the last covers 100% of the target. */
  phases: RolloutPhase[];
  maxConcurrent: number;
  /** Jobs started per minute at most, or null for no limit beyond maxConcurrent. */
  ratePerMinute: number | null;
  failureThreshold: { percent: number; minDevices: number };
  window: RolloutWindow | null;
}

/**
 * Where the rollout's counters start after a resume: failures before it no longer count toward the
 * threshold, and the success gates of phases below `gatesWaived` no longer hold it back.
 */
export interface RolloutBaseline {
  failures: number;
  finished: number;
  gatesWaived: number;
}

export interface RolloutRecord extends RolloutSpec {
  /** A UUIDv7. */
  id: string;
  orgId: string;
  name: string;
  artifactId: string;
  state: RolloutState;
  /** `failure_threshold`, `success_gate`, `artifact_missing`, or an operator's words. */
  pauseReason: string | null;
  /** Figures behind an automatic pause (failures, finished, phase, deviceId of the alert). */
  pauseDetail: Record<string, string | number> | null;
  baseline: RolloutBaseline;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** A change of a rollout's mutable part. */
export interface RolloutPatch {
  state: RolloutState;
  pauseReason: string | null;
  pauseDetail: Record<string, string | number> | null;
  baseline?: RolloutBaseline;
  updatedAt: number;
}

export interface RolloutStore {
  create(r: RolloutRecord): Promise<void>;
  get(orgId: string, id: string): Promise<RolloutRecord | undefined>;
  /**
   * Newest first, at most `limit`, those with an id below `before` when given; only those in
   * `state` and of `artifactId` when given.
   */
  list(
    orgId: string,
    q: { state?: RolloutState; artifactId?: string; before?: string; limit: number },
  ): Promise<RolloutRecord[]>;
  /** Hub-wide: running rollouts in id order after `after`, at most `limit` (the tick's sweep). */
  listRunning(limit: number, after?: string): Promise<RolloutRecord[]>;
  /** Applies `patch` only if the stored state is one of `from`; false (nothing changed) otherwise. */
  update(
    orgId: string,
    id: string,
    from: readonly RolloutState[],
    patch: RolloutPatch,
  ): Promise<boolean>;
  /**
   * Takes the tick lease of a rollout for `holder` until `until`, if it is free (expired at `now`)
   * or already held by `holder`. Only the holder steps the rollout, so two hub nodes do not both
   * start jobs for it.
   */
  lease(orgId: string, id: string, holder: string, now: number, until: number): Promise<boolean>;
  /**
   * Hub-wide: gives up every tick lease `holder` holds (a node stopping cleanly), so the restarted
   * hub or another node steps those rollouts at once instead of after the lease expires. Returns
   * how many were released.
   */
  releaseLeases(holder: string): Promise<number>;
}

/** The auto-upgrade policy of one device type: its current artifact. */
export interface FirmwarePolicyRecord {
  orgId: string;
  deviceType: string;
  artifactId: string;
  setBy: string;
  setAt: number;
}

export interface FirmwarePolicyStore {
  /** Inserts or replaces the policy of (orgId, deviceType). */
  put(p: FirmwarePolicyRecord): Promise<void>;
  get(orgId: string, deviceType: string): Promise<FirmwarePolicyRecord | undefined>;
  /** False when there was none. */
  delete(orgId: string, deviceType: string): Promise<boolean>;
  /** Ordered by device type. */
  list(orgId: string): Promise<FirmwarePolicyRecord[]>;
}
