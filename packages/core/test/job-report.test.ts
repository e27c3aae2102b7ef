/**
 * What a device's report does to its update job (decisions 0008, 0015): moves forward only,
 * terminal sticks; every message kept; a cancel request confirmed, refused, or made moot by the
 * job ending another way; the history bounded with a note.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UpdateJobState } from '@bulwark/protocol';
import {
  appendUpdateJobHistory,
  planReport,
  type UpdateJobHistoryEntry,
  type UpdateJobRecord,
} from '@bulwark/core';

const AT = 1_000;
const job = (
  state: UpdateJobState,
  cancelRequested: UpdateJobRecord['cancelRequested'] = null,
): Pick<UpdateJobRecord, 'state' | 'cancelRequested'> => ({ state, cancelRequested });
const asked = { by: 'user u', at: 500 };

describe('a device report on its update job', () => {
  it('moves forward with its reason; never backwards; a terminal state sticks', () => {
    const p = planReport(job('delivered'), { state: 'failed', message: 'disk full' }, AT);
    assert.deepEqual(p, {
      outcome: 'applied',
      transition: {
        from: 'delivered',
        to: 'failed',
        at: AT,
        reason: 'unspecified',
        message: 'disk full',
        entries: [{ state: 'failed', at: AT, reason: 'unspecified', message: 'disk full' }],
      },
    });
    assert.equal(planReport(job('downloaded'), { state: 'downloading' }, AT), null);
    assert.equal(planReport(job('succeeded'), { state: 'failed', message: 'late' }, AT), null);
  });

  it('a failure that says where the download got to replaces the last throttled figure', () => {
    const progress = { bytes: 1000, total: 1000 };
    const p = planReport(
      job('downloading'),
      { state: 'failed', reason: 'hash_mismatch', progress },
      AT,
    );
    assert.deepEqual(p?.transition.progress, progress);
  });

  it('keeps download progress on the job, without a history entry unless it says something', () => {
    const bare = planReport(
      job('downloading'),
      { state: 'downloading', progress: { bytes: 5, total: 9 } },
      AT,
    );
    assert.deepEqual(bare?.transition, {
      from: 'downloading',
      to: 'downloading',
      at: AT,
      progress: { bytes: 5, total: 9 },
    });
    const said = planReport(job('downloading'), { state: 'downloading', message: 'slow link' }, AT);
    assert.deepEqual(said?.transition.entries, [
      { state: 'downloading', at: AT, event: 'feedback', message: 'slow link' },
    ]);
  });

  it('keeps a message that cannot move the job as feedback of the unchanged state', () => {
    const p = planReport(
      job('downloaded'),
      { state: 'downloading', message: 'Verifying signature failed' },
      AT,
    );
    assert.equal(p?.outcome, 'noted');
    assert.deepEqual(p?.transition, {
      from: 'downloaded',
      to: 'downloaded',
      at: AT,
      entries: [
        { state: 'downloaded', at: AT, event: 'feedback', message: 'Verifying signature failed' },
      ],
    });
  });

  it('a confirmed cancel request ends the job canceled and clears the request', () => {
    const p = planReport(job('downloading', asked), { state: 'canceled' }, AT);
    assert.equal(p?.outcome, 'applied');
    assert.equal(p?.transition.to, 'canceled');
    assert.equal(p?.transition.cancelRequested, null);
    assert.deepEqual(p?.transition.entries, [{ state: 'canceled', at: AT, reason: 'canceled' }]);
  });

  it('a refused cancel request is dropped, with the device reason, and the job may move on', () => {
    const p = planReport(
      job('downloaded', asked),
      { state: 'installing', cancel: 'refused', reason: 'too_late', message: 'slot switched' },
      AT,
    );
    assert.equal(p?.outcome, 'applied');
    assert.deepEqual(p?.transition, {
      from: 'downloaded',
      to: 'installing',
      at: AT,
      cancelRequested: null,
      expectCancelRequested: true,
      entries: [
        {
          state: 'downloaded',
          at: AT,
          event: 'cancel_refused',
          reason: 'too_late',
          message: 'slot switched',
        },
        { state: 'installing', at: AT },
      ],
    });
    const same = planReport(
      job('installing', asked),
      { state: 'installing', cancel: 'refused' },
      AT,
    );
    assert.equal(same?.outcome, 'noted');
    assert.equal(same?.transition.to, 'installing');
    assert.equal(same?.transition.cancelRequested, null);
  });

  it('a success after a cancel request is a success; the request is moot', () => {
    const p = planReport(job('rebooting', asked), { state: 'succeeded' }, AT);
    assert.equal(p?.transition.to, 'succeeded');
    assert.equal(p?.transition.cancelRequested, null);
    assert.deepEqual(p?.transition.entries, [{ state: 'succeeded', at: AT }]);
  });

  it('a refusal without a pending request is only the device speaking', () => {
    assert.equal(
      planReport(job('downloaded'), { state: 'downloaded', cancel: 'refused' }, AT),
      null,
    );
  });
});

describe('an update job history', () => {
  const feedback = (i: number): UpdateJobHistoryEntry => ({
    state: 'downloading',
    at: i,
    event: 'feedback',
    message: `line ${i}`,
  });

  it('grows as it is below the cap', () => {
    const h = appendUpdateJobHistory([{ state: 'queued', at: 0 }], [feedback(1)], 5);
    assert.equal(h.length, 2);
  });

  it('drops the oldest device messages first, keeps the first steps and notes how many went', () => {
    const start: UpdateJobHistoryEntry[] = [
      { state: 'queued', at: 0 },
      { state: 'delivered', at: 1 },
      { state: 'downloading', at: 2 },
    ];
    let h = start;
    for (let i = 10; i < 30; i++) h = appendUpdateJobHistory(h, [feedback(i)], 12);
    h = appendUpdateJobHistory(h, [{ state: 'failed', at: 99, reason: 'install_failed' }], 12);
    assert.equal(h.length, 12);
    assert.deepEqual(h.slice(0, 3), start);
    const note = h.find((e) => e.event === 'truncated');
    assert.ok(note);
    // 3 + 20 + 1 entries, 12 kept of which one is the note.
    assert.equal(note.dropped, 24 - 11);
    assert.match(note.message ?? '', /^13 older entries were dropped/);
    assert.deepEqual(h.at(-1), { state: 'failed', at: 99, reason: 'install_failed' });
    assert.equal(h.at(-2)?.message, 'line 29', 'the newest messages stay');
    assert.equal(h.filter((e) => e.event === 'truncated').length, 1, 'one note, updated');
  });

  it('drops state changes only when no device message is left to drop', () => {
    let h: UpdateJobHistoryEntry[] = [];
    for (let i = 0; i < 10; i++)
      h = appendUpdateJobHistory(h, [{ state: 'downloading', at: i }], 6);
    assert.equal(h.length, 6);
    assert.equal(h.find((e) => e.event === 'truncated')?.dropped, 5);
  });
});
