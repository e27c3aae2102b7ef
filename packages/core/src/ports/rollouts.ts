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

/**
 * The limits an auto-upgrade policy offers its artifact under: those of a rollout (decision 0011)
 * without phases or a target.
 */
export type AutoUpgradeLimits = Pick<
  RolloutSpec,
  'maxConcurrent' | 'ratePerMinute' | 'failureThreshold' | 'window'
>;

/** `paused`: offers nothing (failure threshold reached) until resumed or set anew. */
export type FirmwarePolicyState = 'active' | 'paused';

/** The auto-upgrade policy of one device type: its current artifact, limits and state. */
export interface FirmwarePolicyRecord extends AutoUpgradeLimits {
  orgId: string;
  deviceType: string;
  artifactId: string;
  setBy: string;
  /** When it was set: its jobs are the type's auto-upgrade jobs of the artifact since then. */
  setAt: number;
  state: FirmwarePolicyState;
  pauseReason: string | null;
  pauseDetail: Record<string, string | number> | null;
  /** Failures and finished jobs at the last resume: those before it no longer count. */
  baseline: Pick<RolloutBaseline, 'failures' | 'finished'>;
  updatedAt: number;
}

/**
 * Whether the tick has work on a policy: `seq` counts wakes (set, resume, a device held back,
 * a job started); `backlog` says devices may be held back since the last drain of the backlog.
 */
export interface FirmwarePolicyWake {
  seq: number;
  backlogSeq: number;
  backlog: boolean;
}

/** A change of a policy's mutable part. */
export interface FirmwarePolicyPatch {
  state: FirmwarePolicyState;
  pauseReason: string | null;
  pauseDetail: Record<string, string | number> | null;
  baseline?: FirmwarePolicyRecord['baseline'];
  updatedAt: number;
}

export interface FirmwarePolicyStore {
  /**
   * Inserts or replaces the policy of (orgId, deviceType) (its artifact, limits, state and
   * baseline) and wakes it with a backlog; a held tick lease stays.
   */
  put(p: FirmwarePolicyRecord): Promise<void>;
  get(orgId: string, deviceType: string): Promise<FirmwarePolicyRecord | undefined>;
  /** False when there was none. */
  delete(orgId: string, deviceType: string): Promise<boolean>;
  /** Ordered by device type. */
  list(orgId: string): Promise<FirmwarePolicyRecord[]>;
  /**
   * Applies `patch` only if the stored state is one of `from` and the policy is still the one set
   * at `setAt` (not set anew meanwhile); false (nothing changed) otherwise.
   */
  update(
    orgId: string,
    deviceType: string,
    setAt: number,
    from: readonly FirmwarePolicyState[],
    patch: FirmwarePolicyPatch,
  ): Promise<boolean>;
  /** Wakes the policy for the tick; with `backlog`, a device may be held back. */
  wake(orgId: string, deviceType: string, backlog: boolean): Promise<void>;
  /**
   * After a step that read `wake`: the backlog it saw is drained (`drained`), and with `idle`
   * nothing is in flight either, so the tick leaves the policy alone until it is woken again.
   * A wake that came in meanwhile is kept.
   */
  settle(
    orgId: string,
    deviceType: string,
    wake: FirmwarePolicyWake,
    s: { drained: boolean; idle: boolean },
  ): Promise<void>;
  /**
   * Hub-wide: active policies woken since they were last idle, with their wake, ordered by
   * (orgId, deviceType) after `after`, at most `limit` (the tick's sweep).
   */
  listAwake(
    limit: number,
    after?: { orgId: string; deviceType: string },
  ): Promise<Array<FirmwarePolicyRecord & { wake: FirmwarePolicyWake }>>;
  /** The policy's tick lease, as RolloutStore.lease: one node starts its jobs at a time. */
  lease(
    orgId: string,
    deviceType: string,
    holder: string,
    now: number,
    until: number,
  ): Promise<boolean>;
  /** Hub-wide: gives up every policy lease `holder` holds; returns how many. */
  releaseLeases(holder: string): Promise<number>;
}
