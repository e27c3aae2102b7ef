/** What `update deploy|job --wait` writes to stderr while it waits, on a terminal and in a pipe. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { endJobProgress, jobProgress, jobProgressText } from '../src/commands/job-progress.js';

type State = Parameters<typeof jobProgressText>[0]['state'];
const job = (state: State, bytes?: number) => ({
  id: 'j1',
  state,
  progress: bytes === undefined ? null : { bytes, total: 1000 },
});

/** The polls of one job: the same state seen twice, a download in small steps, then the end. */
const POLLS = [
  job('queued'),
  job('queued'),
  job('delivered'),
  job('downloading', 0),
  job('downloading', 100),
  job('downloading', 240),
  job('downloading', 260),
  job('downloading', 990),
  job('downloading', 990),
  job('downloaded', 990),
  job('installing', 990),
  job('succeeded', 990),
];

describe('job progress while waiting', () => {
  test('the text gives the download percentage and bytes only while downloading', () => {
    assert.equal(jobProgressText(job('queued')), 'job j1: queued');
    assert.equal(
      jobProgressText(job('downloading', 250)),
      'job j1: downloading 25% (250/1000 bytes)',
    );
    assert.equal(jobProgressText(job('downloading')), 'job j1: downloading');
    assert.equal(jobProgressText(job('succeeded', 990)), 'job j1: succeeded');
  });

  test('in a pipe: a line per state change and per quarter of the download', () => {
    let out = '';
    const report = jobProgress((t) => (out += t), false);
    for (const p of POLLS) report(p);
    endJobProgress((t) => (out += t), false);
    assert.deepEqual(out.trim().split('\n'), [
      'job j1: queued',
      'job j1: delivered',
      'job j1: downloading 0% (0/1000 bytes)',
      'job j1: downloading 26% (260/1000 bytes)',
      'job j1: downloading 99% (990/1000 bytes)',
      'job j1: downloaded',
      'job j1: installing',
      'job j1: succeeded',
    ]);
    assert.ok(!out.includes('\r') && !out.includes('\x1b'), 'no terminal control');
  });

  test('on a terminal: one line redrawn on every change, ended with a newline', () => {
    let out = '';
    const report = jobProgress((t) => (out += t), true);
    for (const p of POLLS) report(p);
    endJobProgress((t) => (out += t), true);
    const frames = out.split('\r\x1b[K').filter((f) => f !== '');
    assert.equal(frames.length, 10, 'repeated polls are not redrawn');
    assert.equal(frames[3], 'job j1: downloading 10% (100/1000 bytes)');
    assert.equal(frames.at(-1), 'job j1: succeeded\n');
    assert.ok(!out.slice(0, -1).includes('\n'), 'no newline before the end');
  });
});
