/**
 * The gate of an auto-upgrade policy (issue 13, decision 0011): whether, and how many, devices
 * may be offered the current artifact now, from the policy's limits and its jobs since it was set.
 * The same rules as a rollout step (rollout-engine.ts): concurrency, a trailing-minute rate, the
 * maintenance window, and a failure threshold counted from the last resume. Pure.
 */
import type { AutoUpgradeLimits, FirmwarePolicyRecord } from '../ports/rollouts.js';
import type { UpdateJobRecord } from '../ports/updates.js';
import {
  failureThresholdReached,
  latestPerDevice,
  rateRoom,
  tallyJobs,
  type EngineJob,
} from './rollout-engine.js';
import type { JobReader } from './rollout-inputs.js';
import { nextWindowOpen, windowOpen } from './rollout-window.js';

/**
 * The limits of a policy set without them. No phases protect a policy, so its first devices are
 * its canary: two at a time, and one failure among the first finished ones (20% once two have
 * finished) pauses it, so a bad image reaches at most three devices before a person looks. No
 * rate or window: those depend on the fleet and its time zone (give `--window` for nights only).
 */
export const AUTO_UPGRADE_DEFAULTS: AutoUpgradeLimits = {
  maxConcurrent: 2,
  ratePerMinute: null,
  failureThreshold: { percent: 20, minDevices: 2 },
  window: null,
};

/** The policy's figures now (the API's FirmwarePolicyProgress with epoch-ms times). */
export interface PolicyProgress {
  inFlight: number;
  succeeded: number;
  failed: number;
  canceled: number;
  windowOpen: boolean;
  /** When a held-back device may next be offered (window, rate); null when not held by these. */
  nextEligibleAt: number | null;
}

/** What the gate allows now. */
export interface PolicyGate {
  progress: PolicyProgress;
  /** Devices that may be offered the artifact now. */
  room: number;
  /** Set when the failure threshold is reached: the figures behind the pause. */
  pause?: { failures: number; finished: number; percent: number };
}

/** The gate of a policy with these jobs (its own, since it was set) at `now`. */
export function policyGate(input: {
  now: number;
  limits: AutoUpgradeLimits;
  baseline: FirmwarePolicyRecord['baseline'];
  jobs: readonly EngineJob[];
}): PolicyGate {
  const { now, limits } = input;
  const { jobs, latest } = latestPerDevice(input.jobs);
  const t = tallyJobs(latest.values());
  const isOpen = windowOpen(limits.window, now);
  const progress: PolicyProgress = {
    inFlight: t.inFlight,
    succeeded: t.succeeded,
    failed: t.failed,
    canceled: t.canceled,
    windowOpen: isOpen,
    nextEligibleAt: null,
  };
  const pause = failureThresholdReached(
    limits.failureThreshold,
    input.baseline,
    t.succeeded,
    t.failed,
  );
  if (pause) return { progress, room: 0, pause };
  if (!isOpen) {
    progress.nextEligibleAt = nextWindowOpen(limits.window, now);
    return { progress, room: 0 };
  }
  const rate = rateRoom(limits.ratePerMinute, jobs, now);
  const room = Math.max(0, Math.min(limits.maxConcurrent - t.inFlight, rate.left));
  if (room === 0) progress.nextEligibleAt = rate.until;
  return { progress, room };
}

/** Jobs read per page, and the most pages read (the newest 20,000 jobs of a policy count). */
const JOB_PAGE = 1000;
const MAX_JOB_PAGES = 20;

/**
 * The policy's jobs, newest first: auto-upgrade jobs of its artifact on devices of its type,
 * created since it was set. Bounded: past 20,000 the oldest stop counting.
 */
export async function policyJobs(
  store: JobReader,
  p: Pick<FirmwarePolicyRecord, 'orgId' | 'deviceType' | 'artifactId' | 'setAt'>,
): Promise<UpdateJobRecord[]> {
  const out: UpdateJobRecord[] = [];
  let before: string | undefined;
  for (let page = 0; page < MAX_JOB_PAGES; page++) {
    const batch = await store.list(p.orgId, {
      artifactId: p.artifactId,
      origin: 'auto-upgrade',
      deviceType: p.deviceType,
      createdSince: p.setAt,
      limit: JOB_PAGE,
      ...(before !== undefined ? { before } : {}),
    });
    out.push(...batch);
    if (batch.length < JOB_PAGE) break;
    before = batch[batch.length - 1]?.id;
  }
  return out;
}
