/**
 * The rollout engine's decisions (decision 0011): phases by percentage and count, success gates,
 * concurrency, rate, maintenance windows (across midnight and in a zone), the failure threshold
 * after its minimum sample, dynamic membership, completion.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, isAtLeastVersion, type UpdateJobState } from '@bulwark/protocol';
import {
  nextWindowOpen,
  phaseLimits,
  planStep,
  validatePhases,
  windowOpen,
  type EngineJob,
  type RolloutSpec,
  type StepInput,
} from '@bulwark/core';

const T = Date.UTC(2026, 10, 23, 12, 0); // Monday 2026-11-23 12:00 UTC
const MIN = 60_000;

const spec = (over: Partial<RolloutSpec> = {}): RolloutSpec => ({
  target: { type: 'gw' },
  phases: [{ percent: 100 }],
  maxConcurrent: 1000,
  ratePerMinute: null,
  failureThreshold: { percent: 50, minDevices: 1000 },
  window: null,
  ...over,
});

/** Devices d000 … d(n-1), ids sorting in number order. */
const devices = (n: number, current: number[] = []) =>
  Array.from({ length: n }, (_, i) => ({ id: dev(i), current: current.includes(i) }));
const dev = (i: number) => `d${String(i).padStart(3, '0')}`;

/** Jobs on devices 0..states.length-1 in that order, created `age` ms before T. */
const jobs = (states: UpdateJobState[], age = 10 * MIN): EngineJob[] =>
  states.map((state, i) => ({
    id: `j${String(i).padStart(3, '0')}`,
    deviceId: dev(i),
    state,
    createdAt: T - age,
  }));

const step = (over: Partial<StepInput>) =>
  planStep({
    now: T,
    spec: spec(),
    baseline: { failures: 0, finished: 0, gatesWaived: 0 },
    devices: devices(10),
    jobs: [],
    ...over,
  });

const times = (n: number, s: UpdateJobState): UpdateJobState[] => Array<UpdateJobState>(n).fill(s);

describe('rollout phases', () => {
  it('computes cumulative limits by percent and count, the last covering the target', () => {
    assert.deepEqual(
      phaseLimits({ phases: [{ percent: 10 }, { percent: 50 }, { percent: 100 }] }, 45),
      [5, 23, 45],
    );
    assert.deepEqual(
      phaseLimits({ phases: [{ count: 2 }, { count: 20 }, { percent: 100 }] }, 10),
      [2, 10, 10],
    );
    assert.deepEqual(
      phaseLimits({ phases: [{ count: 3 }, { percent: 10 }, { percent: 100 }] }, 10),
      [3, 3, 10],
    );
  });

  it('starts the first phase only, then waits for it to finish before the next', () => {
    const s = spec({ phases: [{ percent: 20 }, { percent: 100 }] });
    assert.deepEqual(step({ spec: s }).start, [dev(0), dev(1)]);
    const waiting = step({ spec: s, jobs: jobs(['succeeded', 'installing']) });
    assert.deepEqual(waiting.start, []);
    assert.equal(waiting.progress.currentPhase, 1);
    const next = step({ spec: s, jobs: jobs(['succeeded', 'succeeded']) });
    assert.deepEqual(next.start, [2, 3, 4, 5, 6, 7, 8, 9].map(dev));
    assert.deepEqual(
      next.progress.phases.map((p) => [p.limit, p.started, p.state]),
      [
        [2, 2, 'done'],
        [10, 0, 'active'],
      ],
    );
  });

  it('phases by count', () => {
    const s = spec({ phases: [{ count: 3 }, { percent: 100 }] });
    assert.deepEqual(step({ spec: s }).start, [0, 1, 2].map(dev));
  });

  it('holds at a missed success gate and pauses; a waived gate lets it on', () => {
    const s = spec({ phases: [{ count: 4, successGate: 75 }, { percent: 100 }] });
    const passed = step({ spec: s, jobs: jobs(['succeeded', 'succeeded', 'succeeded', 'failed']) });
    assert.equal(passed.pause, undefined);
    assert.equal(passed.start.length, 6);
    const missed = step({
      spec: s,
      jobs: jobs(['succeeded', 'succeeded', 'failed', 'rolled_back']),
    });
    assert.equal(missed.pause?.reason, 'success_gate');
    assert.deepEqual(missed.pause?.detail, { phase: 0, succeeded: 2, finished: 4, gate: 75 });
    assert.deepEqual(missed.start, []);
    const waived = step({
      spec: s,
      baseline: { failures: 2, finished: 4, gatesWaived: 1 },
      jobs: jobs(['succeeded', 'succeeded', 'failed', 'rolled_back']),
    });
    assert.equal(waived.pause, undefined);
    assert.equal(waived.start.length, 6);
  });
});

describe('rollout limits', () => {
  it('keeps at most maxConcurrent jobs in flight', () => {
    const s = spec({ maxConcurrent: 3 });
    assert.deepEqual(step({ spec: s }).start, [0, 1, 2].map(dev));
    assert.deepEqual(step({ spec: s, jobs: jobs(['downloading', 'rebooting']) }).start, [dev(2)]);
    assert.deepEqual(
      step({ spec: s, jobs: jobs(['succeeded', 'failed', 'rebooting']) }).start,
      [3, 4].map(dev),
    );
  });

  it('starts at most ratePerMinute jobs in any minute and says when the next may start', () => {
    const s = spec({ ratePerMinute: 3 });
    assert.equal(step({ spec: s }).start.length, 3);
    const recent = jobs(['succeeded', 'succeeded'], 30_000);
    assert.deepEqual(step({ spec: s, jobs: recent }).start, [dev(2)]);
    const full = jobs(['succeeded', 'succeeded', 'succeeded'], 30_000);
    const held = step({ spec: s, jobs: full });
    assert.deepEqual(held.start, []);
    assert.equal(held.progress.nextEligibleAt, T + 30_000);
    assert.equal(step({ spec: s, jobs: jobs(times(3, 'succeeded'), 61_000) }).start.length, 3);
  });

  it('starts nothing outside the maintenance window, and says when it opens', () => {
    const window = { days: ['mon' as const], start: '13:00', end: '14:00', timezone: 'UTC' };
    const closed = step({ spec: spec({ window }) });
    assert.deepEqual(closed.start, []);
    assert.equal(closed.progress.windowOpen, false);
    assert.equal(closed.progress.nextEligibleAt, T + 60 * MIN);
    assert.equal(step({ spec: spec({ window }), now: T + 61 * MIN }).start.length, 10);
  });
});

describe('maintenance windows', () => {
  const at = (iso: string) => Date.parse(iso);
  it('opens across midnight, belonging to the day it starts', () => {
    const w = { days: ['fri' as const], start: '22:00', end: '04:00', timezone: 'UTC' };
    assert.equal(windowOpen(w, at('2026-11-27T21:59:00Z')), false); // Friday
    assert.equal(windowOpen(w, at('2026-11-27T22:00:00Z')), true);
    assert.equal(windowOpen(w, at('2026-11-28T03:59:00Z')), true); // Saturday morning
    assert.equal(windowOpen(w, at('2026-11-28T04:00:00Z')), false);
    assert.equal(windowOpen(w, at('2026-11-28T23:00:00Z')), false); // Saturday evening
    assert.equal(windowOpen(w, at('2026-11-27T02:00:00Z')), false); // Friday morning: Thursday's
    assert.equal(nextWindowOpen(w, at('2026-11-24T10:30:00Z')), at('2026-11-27T22:00:00Z'));
  });

  it('reads the time in the given zone', () => {
    const w = { start: '01:00', end: '05:00', timezone: 'Europe/Berlin' }; // UTC+1 in November
    assert.equal(windowOpen(w, at('2026-11-24T00:30:00Z')), true);
    assert.equal(windowOpen(w, at('2026-11-24T04:30:00Z')), false);
    assert.equal(nextWindowOpen(w, at('2026-11-24T10:00:00Z')), at('2026-11-25T00:00:00Z'));
    assert.equal(windowOpen(null, T), true);
  });
});

describe('failure threshold', () => {
  const s = spec({ failureThreshold: { percent: 40, minDevices: 5 }, maxConcurrent: 10 });
  it('does not pause before the minimum sample has finished', () => {
    const p = step({ spec: s, jobs: jobs(['failed', 'rolled_back', 'timed_out', 'installing']) });
    assert.equal(p.pause, undefined);
  });
  it('pauses when failures reach the percentage after the minimum, starting nothing', () => {
    const p = step({
      spec: s,
      jobs: jobs(['failed', 'rolled_back', 'succeeded', 'succeeded', 'succeeded']),
    });
    assert.equal(p.pause?.reason, 'failure_threshold');
    assert.deepEqual(p.pause?.detail, { failures: 2, finished: 5, percent: 40 });
    assert.deepEqual(p.start, []);
    assert.equal(p.progress.failed, 2);
  });
  it('counts from the resume baseline; canceled jobs are no failures', () => {
    const j = jobs(['failed', 'rolled_back', 'succeeded', 'succeeded', 'succeeded', 'canceled']);
    const p = step({ spec: s, jobs: j, baseline: { failures: 2, finished: 5, gatesWaived: 0 } });
    assert.equal(p.pause, undefined);
    assert.equal(p.start.length, 4);
    assert.equal(p.progress.canceled, 1);
  });
  it('a job with a cancel request is in flight until its device answers (decision 0015)', () => {
    const j = jobs(['downloading', 'delivered', 'succeeded', 'canceled']).map((x, i) =>
      i < 3 ? { ...x, cancelRequested: true } : x,
    );
    const p = step({ spec: s, jobs: j, devices: devices(4) });
    // The device that finished anyway counts as a success; only a confirmed cancel as canceled.
    assert.deepEqual(
      [p.progress.inFlight, p.progress.cancelRequested, p.progress.succeeded, p.progress.canceled],
      [2, 2, 1, 1],
    );
    assert.equal(p.complete, false, 'not complete while two devices may still answer');
  });
});

describe('membership and completion', () => {
  it('includes devices that join the target later; skips those already current', () => {
    const first = step({ devices: devices(3, [1]) });
    assert.deepEqual(first.start, [dev(0), dev(2)]);
    assert.equal(first.progress.current, 1);
    const j: EngineJob[] = [
      { id: 'j1', deviceId: dev(0), state: 'succeeded', createdAt: T },
      { id: 'j2', deviceId: dev(2), state: 'succeeded', createdAt: T },
    ];
    const later = step({ devices: devices(5, [1]), jobs: j });
    assert.deepEqual(later.start, [dev(3), dev(4)]);
    assert.equal(later.complete, false);
  });

  it('completes only when every target device succeeded or is current — never at rebooting', () => {
    const rebooting = step({ devices: devices(2, [1]), jobs: jobs(['rebooting']) });
    assert.equal(rebooting.complete, false);
    assert.equal(rebooting.progress.succeeded, 0);
    assert.equal(rebooting.progress.inFlight, 1);
    const done = step({ devices: devices(2, [1]), jobs: jobs(['succeeded']) });
    assert.equal(done.complete, true);
    assert.equal(done.progress.percentDone, 100);
    const failed = step({ devices: devices(2, [1]), jobs: jobs(['failed']) });
    assert.equal(failed.complete, false);
    assert.equal(failed.progress.percentDone, 50);
  });
});

describe('phase validation and version order', () => {
  it('refuses shrinking phases, a missing 100% and a gate on the last phase', () => {
    const code = (f: () => void) =>
      assert.throws(f, (e: unknown) => (e as { code?: string }).code === 'rollout_phases_invalid');
    code(() => validatePhases([{ percent: 50 }, { percent: 20 }, { percent: 100 }]));
    code(() => validatePhases([{ percent: 50 }]));
    code(() => validatePhases([{ count: 5, percent: 5 }, { percent: 100 }]));
    code(() => validatePhases([{ percent: 100, successGate: 90 }]));
    code(() => validatePhases([{ count: 5 }, { count: 5 }, { percent: 100 }]));
    validatePhases([{ count: 5, successGate: 90 }, { percent: 50 }, { percent: 100 }]);
  });

  it('orders versions as semver does', () => {
    assert.ok(compareVersions('1.10.0', '1.9.9') > 0);
    assert.ok(compareVersions('2.0.0-rc.1', '2.0.0') < 0);
    assert.equal(isAtLeastVersion('1.2.0', '1.2'), true);
    assert.equal(isAtLeastVersion('1.1.9', '1.2.0'), false);
    assert.equal(isAtLeastVersion(null, '1.2.0'), false);
    assert.equal(isAtLeastVersion('weird', 'weird'), true);
  });
});
