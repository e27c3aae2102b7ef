/** tickBatch: the calls of one event-loop turn in one flush (issue 12's batched presence writes). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tickBatch } from '../src/shared/tick-batch.js';

describe('tickBatch', () => {
  it('flushes the calls of one turn together, the next turn separately, and settles every caller', async () => {
    const flushes: number[][] = [];
    const add = tickBatch<number>(async (xs) => void flushes.push([...xs]));
    await Promise.all([add(1), add(2), add(3)]);
    await add(4);
    assert.deepEqual(flushes, [[1, 2, 3], [4]]);
  });

  it('a full batch goes at once; the rest follow in the next', async () => {
    const flushes: number[][] = [];
    const add = tickBatch<number>(async (xs) => void flushes.push([...xs]), 2);
    await Promise.all([add(1), add(2), add(3)]);
    assert.deepEqual(flushes, [[1, 2], [3]]);
  });

  it("a failed flush rejects its batch's callers only", async () => {
    let fail = true;
    const add = tickBatch<number>(async () => {
      if (fail) throw new Error('disk full');
    });
    const results = await Promise.allSettled([add(1), add(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    await add(3);
  });
});
