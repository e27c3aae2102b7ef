/**
 * The auto-upgrade gate (issue 13, decision 0011): room from maxConcurrent and the rate, nothing
 * while the window is closed (and when it opens), the failure threshold from the last resume, each
 * device's latest job counting — the rollout engine's rules without phases.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UpdateJobState } from '@bulwark/protocol';
import {
  AUTO_UPGRADE_DEFAULTS,
  policyGate,
  type AutoUpgradeLimits,
  type EngineJob,
} from '@bulwark/core';

const T = Date.UTC(2026, 11, 6, 12, 0); // Sunday 2026-12-06 12:00 UTC
const MIN = 60_000;

let seq = 0;
const job = (deviceId: string, state: UpdateJobState, age = 10 * MIN): EngineJob => ({
  id: `j${String(++seq).padStart(6, '0')}`,
  deviceId,
  state,
  createdAt: T - age,
});
const gate = (
  jobs: EngineJob[],
  limits: Partial<AutoUpgradeLimits> = {},
  baseline = { failures: 0, finished: 0 },
) => policyGate({ now: T, limits: { ...AUTO_UPGRADE_DEFAULTS, ...limits }, baseline, jobs });

describe('the auto-upgrade gate', () => {
  it('defaults: two at a time, pausing once two finished with one failure', () => {
    assert.equal(gate([]).room, 2);
    assert.equal(gate([job('a', 'installing')]).room, 1);
    assert.equal(
      gate([job('a', 'rebooting'), job('b', 'queued')]).room,
      0,
      'rebooting is in flight',
    );
    const one = gate([job('a', 'rolled_back'), job('b', 'installing')]);
    assert.equal(one.pause, undefined, 'one finished: below the minimum sample');
    assert.equal(one.room, 1);
    const two = gate([job('a', 'rolled_back'), job('b', 'succeeded')]);
    assert.deepEqual(two.pause, { failures: 1, finished: 2, percent: 20 });
    assert.equal(two.room, 0);
  });

  it("counts each device's latest job: a timed-out device offered again and succeeding is a success", () => {
    const g = gate([job('a', 'timed_out'), job('a', 'succeeded'), job('b', 'canceled')]);
    assert.deepEqual(
      [g.progress.succeeded, g.progress.failed, g.progress.canceled, g.progress.inFlight],
      [1, 0, 1, 0],
    );
  });

  it('failures before the last resume stop counting', () => {
    const jobs = [job('a', 'failed'), job('b', 'failed'), job('c', 'succeeded')];
    assert.ok(gate(jobs).pause);
    const resumed = gate(jobs, {}, { failures: 2, finished: 2 });
    assert.equal(resumed.pause, undefined);
    assert.equal(resumed.room, 2);
  });

  it('the rate: jobs created in the trailing minute, and when the next slot frees', () => {
    const recent = [job('a', 'succeeded', 50_000), job('b', 'succeeded', 20_000)];
    const g = gate(recent, { maxConcurrent: 10, ratePerMinute: 2 });
    assert.equal(g.room, 0);
    assert.equal(g.progress.nextEligibleAt, T - 50_000 + MIN);
    assert.equal(gate(recent, { maxConcurrent: 10, ratePerMinute: 3 }).room, 1);
    assert.equal(
      gate(recent, { maxConcurrent: 10, ratePerMinute: 3 }).progress.nextEligibleAt,
      null,
    );
  });

  it('a closed window gives no room and says when it opens; open, the limits apply', () => {
    const window = { days: ['mon' as const], start: '01:00', end: '05:00', timezone: 'UTC' };
    const closed = gate([], { window });
    assert.equal(closed.room, 0);
    assert.equal(closed.progress.windowOpen, false);
    assert.equal(closed.progress.nextEligibleAt, Date.UTC(2026, 11, 7, 1, 0), 'Monday 01:00');
    const sunday = { start: '11:00', end: '13:00', timezone: 'UTC' };
    const open = gate([job('a', 'installing')], { window: sunday, maxConcurrent: 3 });
    assert.equal(open.progress.windowOpen, true);
    assert.equal(open.room, 2);
  });
});
