import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contentRange, decideRange } from '../src/index.js';

describe('decideRange (HTTP Range for downloads)', () => {
  const len = 1000;
  it('serves the whole body without a header, for other units, several ranges or bad syntax', () => {
    for (const h of [
      undefined,
      'items=0-1',
      'bytes=0-1,5-6',
      'bytes=abc',
      'bytes=-',
      'bytes=5-2',
    ]) {
      assert.deepEqual(decideRange(h, len), { kind: 'full' }, String(h));
    }
  });
  it('resolves the three single-range forms, clamping the end', () => {
    assert.deepEqual(decideRange('bytes=0-499', len), {
      kind: 'range',
      range: { start: 0, end: 499 },
    });
    assert.deepEqual(decideRange('bytes=500-', len), {
      kind: 'range',
      range: { start: 500, end: 999 },
    });
    assert.deepEqual(decideRange('bytes=-100', len), {
      kind: 'range',
      range: { start: 900, end: 999 },
    });
    assert.deepEqual(decideRange('bytes=-5000', len), {
      kind: 'range',
      range: { start: 0, end: 999 },
    });
    assert.deepEqual(decideRange('bytes=990-5000', len), {
      kind: 'range',
      range: { start: 990, end: 999 },
    });
    assert.deepEqual(decideRange(' bytes = 1 - 2 ', len), {
      kind: 'range',
      range: { start: 1, end: 2 },
    });
  });
  it('is unsatisfiable past the end, for a zero suffix, or on an empty body', () => {
    assert.deepEqual(decideRange('bytes=1000-', len), { kind: 'unsatisfiable' });
    assert.deepEqual(decideRange('bytes=-0', len), { kind: 'unsatisfiable' });
    assert.deepEqual(decideRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(decideRange('bytes=99999999999999999999-', len), { kind: 'unsatisfiable' });
  });
  it('formats Content-Range for 206 and 416', () => {
    assert.equal(contentRange(len, { start: 0, end: 499 }), 'bytes 0-499/1000');
    assert.equal(contentRange(len), 'bytes */1000');
  });
});
