import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../src/runtime/backoff.js';

describe('full-jitter backoff', () => {
  it('waits uniformly within a window that doubles up to the maximum, and resets', () => {
    const top = new Backoff(100, 1000, () => 1);
    assert.deepEqual(
      Array.from({ length: 6 }, () => top.next()),
      [100, 200, 400, 800, 1000, 1000],
    );
    top.reset();
    assert.equal(top.next(), 100);
    const bottom = new Backoff(100, 1000, () => 0);
    assert.equal(bottom.next(), 0);
  });

  it('spreads a fleet: 1,000 devices retrying at the same moment do not pick the same wait', () => {
    const waits = Array.from({ length: 1000 }, () => {
      const b = new Backoff(1000, 60_000);
      b.next();
      b.next();
      return b.next(); // third retry: window [0, 4000]
    });
    assert.ok(waits.every((w) => w >= 0 && w <= 4000));
    const buckets = new Array<number>(4).fill(0);
    for (const w of waits) buckets[Math.min(3, Math.floor(w / 1000))]!++;
    // Each second of the window gets a fair share (uniform: ~250 each).
    assert.ok(
      buckets.every((n) => n > 150 && n < 350),
      JSON.stringify(buckets),
    );
  });
});
