/**
 * The decisions of one rollout step, as a pure function of the rollout's specification, the target
 * devices as they are now and the rollout's jobs (decision 0011). The service reads those, calls
 * `planStep` and carries out what it says: start jobs on some devices, pause, or complete.
 *
 * Phases are cumulative: phase i ends when L(i) devices of the population have been started, where
 * the population is the target devices that still need the artifact plus those already started.
 * The next phase starts only when every job of the phase before has finished and (unless waived
 * by a resume) its successes reach that phase's gate; a phase whose gate is missed pauses the
 * rollout. Only `succeeded` counts as a success — never `rebooting` (DESIGN.md §6).
 */
import type { UpdateJobState } from '@bulwark/protocol';
import type { RolloutBaseline, RolloutSpec } from '../ports/rollouts.js';
import { nextWindowOpen, windowOpen } from './rollout-window.js';

const MINUTE = 60_000;

/** Terminal states that count as a failure of the update. */
export const FAILED_STATES: readonly UpdateJobState[] = [
  'failed',
  'rolled_back',
  'rejected',
  'timed_out',
];
const TERMINAL: readonly UpdateJobState[] = [...FAILED_STATES, 'succeeded', 'canceled'];

/** A target device: `current` when it already runs the artifact's version (or newer). */
export interface EngineDevice {
  id: string;
  current: boolean;
}

/** One job of the rollout. Ids are UUIDv7, so id order is creation order. */
export interface EngineJob {
  id: string;
  deviceId: string;
  state: UpdateJobState;
  createdAt: number;
  /**
   * A cancel was asked for and the device has not answered (decision 0015): still in flight —
   * it counts as canceled only once the device confirms, and as whatever else it ends in.
   */
  cancelRequested?: boolean;
}

export interface StepInput {
  now: number;
  spec: RolloutSpec;
  baseline: RolloutBaseline;
  /** The target as it is now: matching, not decommissioned, of a type the artifact fits. */
  devices: readonly EngineDevice[];
  jobs: readonly EngineJob[];
}

export interface PhaseProgress {
  index: number;
  name: string | null;
  limit: number;
  started: number;
  succeeded: number;
  failed: number;
  inFlight: number;
  state: 'pending' | 'active' | 'done';
}

/** Live progress (the API's RolloutProgress with epoch-ms times). */
export interface RolloutProgress {
  total: number;
  current: number;
  started: number;
  states: Partial<Record<UpdateJobState, number>>;
  succeeded: number;
  failed: number;
  canceled: number;
  inFlight: number;
  /** In flight with a cancel request the device has not answered yet. */
  cancelRequested: number;
  percentDone: number;
  currentPhase: number | null;
  phases: PhaseProgress[];
  windowOpen: boolean;
  nextEligibleAt: number | null;
}

/** What the step should do. */
export interface StepPlan {
  progress: RolloutProgress;
  /** Devices to start a job on now, in order. */
  start: string[];
  pause?: { reason: 'failure_threshold' | 'success_gate'; detail: Record<string, number> };
  complete: boolean;
}

/** Jobs in id (creation) order, the latest job of each device, devices in order of their first job. */
export function latestPerDevice(input: readonly EngineJob[]): {
  jobs: EngineJob[];
  latest: Map<string, EngineJob>;
  order: string[];
} {
  const jobs = [...input].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const latest = new Map<string, EngineJob>();
  const order: string[] = [];
  for (const j of jobs) {
    if (!latest.has(j.deviceId)) order.push(j.deviceId);
    latest.set(j.deviceId, j);
  }
  return { jobs, latest, order };
}

/** Counts of jobs by outcome (each device's latest job): only `succeeded` is a success. */
export interface JobTally {
  states: Partial<Record<UpdateJobState, number>>;
  succeeded: number;
  failed: number;
  canceled: number;
  inFlight: number;
  cancelRequested: number;
}

/** Tallies jobs by state and outcome. */
export function tallyJobs(jobs: Iterable<EngineJob>): JobTally {
  const t: JobTally = {
    states: {},
    succeeded: 0,
    failed: 0,
    canceled: 0,
    inFlight: 0,
    cancelRequested: 0,
  };
  for (const j of jobs) {
    t.states[j.state] = (t.states[j.state] ?? 0) + 1;
    if (j.state === 'succeeded') t.succeeded++;
    else if (FAILED_STATES.includes(j.state)) t.failed++;
    else if (j.state === 'canceled') t.canceled++;
    else {
      t.inFlight++;
      if (j.cancelRequested) t.cancelRequested++;
    }
  }
  return t;
}

/**
 * The failure threshold, counted from the last resume (`baseline`): the figures behind a pause
 * once at least `minDevices` finished and failures reach `percent` of them; undefined otherwise.
 */
export function failureThresholdReached(
  threshold: RolloutSpec['failureThreshold'],
  baseline: Pick<RolloutBaseline, 'failures' | 'finished'>,
  succeeded: number,
  failed: number,
): { failures: number; finished: number; percent: number } | undefined {
  const f = Math.max(0, failed - baseline.failures);
  const n = Math.max(0, succeeded + failed - baseline.finished);
  const { percent, minDevices } = threshold;
  return n >= minDevices && f * 100 >= percent * n
    ? { failures: f, finished: n, percent }
    : undefined;
}

/**
 * How many more jobs `ratePerMinute` allows now (jobs created in the trailing 60 s count), and
 * when the next slot frees if none (null: no limit, or room left).
 */
export function rateRoom(
  ratePerMinute: number | null,
  jobs: readonly Pick<EngineJob, 'createdAt'>[],
  now: number,
): { left: number; until: number | null } {
  if (ratePerMinute === null) return { left: Number.POSITIVE_INFINITY, until: null };
  const recent = jobs
    .filter((j) => j.createdAt > now - MINUTE)
    .map((j) => j.createdAt)
    .sort((a, b) => a - b);
  const left = ratePerMinute - recent.length;
  return {
    left,
    until: left <= 0 ? (recent[recent.length - ratePerMinute] ?? now) + MINUTE : null,
  };
}

/** Cumulative device counts at which each phase ends, for a population of `n`. */
export function phaseLimits(spec: Pick<RolloutSpec, 'phases'>, n: number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const p of spec.phases) {
    const raw = p.percent !== undefined ? Math.ceil((p.percent * n) / 100) : (p.count ?? n);
    prev = Math.max(prev, Math.min(raw, n));
    out.push(prev);
  }
  if (out.length > 0) out[out.length - 1] = n; // the last phase covers the whole target
  return out;
}

/** Plans one step of a running rollout. */
export function planStep(input: StepInput): StepPlan {
  const { now, spec, baseline } = input;
  const { jobs, latest, order } = latestPerDevice(input.jobs);
  const targetIds = new Set(input.devices.map((d) => d.id));
  const currentIds = new Set(input.devices.filter((d) => d.current).map((d) => d.id));
  const candidates = input.devices
    .filter((d) => !d.current && !latest.has(d.id))
    .map((d) => d.id)
    .sort();
  const population = candidates.length + order.length;

  const { states, succeeded, failed, canceled, inFlight, cancelRequested } = tallyJobs(
    latest.values(),
  );

  // Phases: the k-th started device belongs to the first phase whose limit is above k.
  const limits = phaseLimits(spec, population);
  const phases: PhaseProgress[] = spec.phases.map((p, index) => ({
    index,
    name: p.name ?? null,
    limit: limits[index] ?? population,
    started: 0,
    succeeded: 0,
    failed: 0,
    inFlight: 0,
    state: 'pending',
  }));
  order.forEach((deviceId, k) => {
    const i = limits.findIndex((l) => k < l);
    const ph = phases[i < 0 ? phases.length - 1 : i];
    const state = latest.get(deviceId)?.state;
    if (ph === undefined || state === undefined) return;
    ph.started++;
    if (state === 'succeeded') ph.succeeded++;
    else if (FAILED_STATES.includes(state)) ph.failed++;
    else if (!TERMINAL.includes(state)) ph.inFlight++;
  });

  const started = order.length;
  const isOpen = windowOpen(spec.window, now);
  const doneInTarget = input.devices.filter(
    (d) => currentIds.has(d.id) || latest.get(d.id)?.state === 'succeeded',
  ).length;
  const doneOutside = order.filter(
    (id) => !targetIds.has(id) && latest.get(id)?.state === 'succeeded',
  ).length;
  const total = input.devices.length + order.filter((id) => !targetIds.has(id)).length;
  const progress: RolloutProgress = {
    total,
    current: [...currentIds].filter((id) => !latest.has(id)).length,
    started,
    states,
    succeeded,
    failed,
    canceled,
    inFlight,
    cancelRequested,
    percentDone: total === 0 ? 0 : Math.round(((doneInTarget + doneOutside) * 1000) / total) / 10,
    currentPhase: null,
    phases,
    windowOpen: isOpen,
    nextEligibleAt: null,
  };
  const complete =
    input.devices.length > 0 && doneInTarget === input.devices.length && inFlight === 0;
  const plan: StepPlan = { progress, start: [], complete };

  // The phase to start jobs in: the first one with room left.
  const phase = limits.findIndex((l) => started < l);
  for (const ph of phases) {
    const size = ph.limit - (limits[ph.index - 1] ?? 0);
    if (ph.inFlight > 0 || ph.index === phase) ph.state = 'active';
    else if ((phase < 0 || ph.index < phase) && ph.started >= size) ph.state = 'done';
  }
  progress.currentPhase = phase >= 0 ? phase : inFlight > 0 ? Math.max(0, phases.length - 1) : null;

  // Failure threshold, counted from the last resume.
  const over = failureThresholdReached(spec.failureThreshold, baseline, succeeded, failed);
  if (over) {
    plan.pause = { reason: 'failure_threshold', detail: over };
    return plan;
  }
  if (complete || phase < 0) return plan;

  // Entering a phase waits for the phase before to finish and pass its gate.
  const prev = phases[phase - 1];
  if (prev !== undefined && prev.started > 0) {
    if (prev.inFlight > 0) return plan;
    const gate = spec.phases[prev.index]?.successGate;
    const finished = prev.succeeded + prev.failed;
    if (
      gate !== undefined &&
      prev.index >= baseline.gatesWaived &&
      finished > 0 &&
      prev.succeeded * 100 < gate * finished
    ) {
      plan.pause = {
        reason: 'success_gate',
        detail: { phase: prev.index, succeeded: prev.succeeded, finished, gate },
      };
      return plan;
    }
  }

  let room = (limits[phase] ?? 0) - started;
  room = Math.min(room, spec.maxConcurrent - inFlight);
  const rate = rateRoom(spec.ratePerMinute, jobs, now);
  room = Math.min(room, rate.left);
  const rateUntil = rate.until;
  if (!isOpen) {
    progress.nextEligibleAt = nextWindowOpen(spec.window, now);
    return plan;
  }
  if (room <= 0) {
    progress.nextEligibleAt = rateUntil;
    return plan;
  }
  plan.start = candidates.slice(0, room);
  return plan;
}
