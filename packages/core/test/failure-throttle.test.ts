import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FailureThrottle, type ThrottlePolicy } from '@bulwark/core';

const POLICY: ThrottlePolicy = {
  threshold: 3,
  windowMs: 60_000,
  baseBlockMs: 1_000,
  maxBlockMs: 8_000,
  maxKeys: 100,
};

function throttle(over: Partial<ThrottlePolicy> = {}) {
  const clock = { t: 1_000_000, now: () => clock.t };
  return { clock, t: new FailureThrottle({ ...POLICY, ...over }, clock) };
}

describe('failure throttle (decision 0013)', () => {
  it('lets a key fail up to the threshold, then blocks it with a backoff that doubles to a cap', () => {
    const { clock, t } = throttle();
    assert.equal(t.failed(['a']), 0);
    assert.equal(t.failed(['a']), 0);
    assert.equal(t.retryAfterMs(['a']), 0);
    assert.equal(t.failed(['a']), 1_000); // the threshold-th failure starts the block
    assert.equal(t.retryAfterMs(['a']), 1_000);
    clock.t += 400;
    assert.equal(t.retryAfterMs(['a']), 600);
    assert.equal(t.failed(['a']), 2_000);
    assert.equal(t.failed(['a']), 4_000);
    assert.equal(t.failed(['a']), 8_000);
    assert.equal(t.failed(['a']), 8_000); // capped
    clock.t += 8_000;
    assert.equal(t.retryAfterMs(['a']), 0);
  });

  it('keys are independent; a list of keys waits for the longest', () => {
    const { t } = throttle();
    for (let i = 0; i < 4; i++) t.failed(['src']);
    t.failed(['other']);
    assert.equal(t.retryAfterMs(['other']), 0);
    assert.equal(t.retryAfterMs(['other', 'src']), 2_000);
    assert.equal(t.retryAfterMs([]), 0);
  });

  it('one failure for several keys counts once per key (duplicates too)', () => {
    const { t } = throttle();
    t.failed(['x', 'x', 'y']);
    t.failed(['x', 'y']);
    assert.equal(t.failed(['x']), 1_000);
    assert.equal(t.retryAfterMs(['y']), 0);
  });

  it('a key quiet for the window starts again from zero; a blocked one does not', () => {
    const { clock, t } = throttle();
    t.failed(['a']);
    t.failed(['a']);
    clock.t += 60_001;
    assert.equal(t.failed(['a']), 0); // the count restarted
    t.failed(['a']);
    assert.equal(t.failed(['a']), 1_000);
  });

  it('success forgets the key', () => {
    const { t } = throttle();
    for (let i = 0; i < 3; i++) t.failed(['a']);
    assert.ok(t.retryAfterMs(['a']) > 0);
    t.succeeded(['a']);
    assert.equal(t.retryAfterMs(['a']), 0);
    assert.equal(t.failed(['a']), 0);
  });

  it('memory is bounded: past maxKeys the least recently failed key is forgotten', () => {
    const { t } = throttle({ maxKeys: 10 });
    for (let i = 0; i < 3; i++) t.failed(['old']);
    assert.ok(t.retryAfterMs(['old']) > 0);
    for (let i = 0; i < 1_000; i++) t.failed([`k${i}`]);
    assert.equal(t.size, 10);
    assert.equal(t.retryAfterMs(['old']), 0);
    // a key that keeps failing stays among the most recent and stays blocked
    for (let i = 0; i < 3; i++) t.failed(['hot']);
    for (let i = 0; i < 9; i++) t.failed([`n${i}`]);
    assert.ok(t.retryAfterMs(['hot']) > 0);
  });

  it('expired keys are dropped as new failures arrive', () => {
    const { clock, t } = throttle();
    for (let i = 0; i < 50; i++) t.failed([`k${i}`]);
    assert.equal(t.size, 50);
    clock.t += 60_001;
    t.failed(['fresh']);
    assert.equal(t.size, 1);
  });

  it('refuses a policy that could never count', () => {
    assert.throws(() => throttle({ threshold: 0 }), RangeError);
    assert.throws(() => throttle({ maxKeys: 0 }), RangeError);
  });
});
