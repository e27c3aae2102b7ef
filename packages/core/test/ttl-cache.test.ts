import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TtlCache } from '@bulwark/core';

/** A lookup whose answers the test releases, counting the calls. */
function lookup<V>(value: V) {
  let calls = 0;
  const pending: (() => void)[] = [];
  return {
    get calls() {
      return calls;
    },
    fetch: () => {
      calls++;
      return new Promise<V>((resolve) => pending.push(() => resolve(value)));
    },
    release: () => {
      for (const r of pending.splice(0)) r();
    },
  };
}

describe('TtlCache.load', () => {
  it('a burst of misses for one key makes one lookup, and its answer is cached', async () => {
    const cache = new TtlCache<string>(60_000, 100, Date.now);
    const l = lookup('v');
    const answers = Array.from({ length: 1000 }, () => Promise.resolve(cache.load('k', l.fetch)));
    assert.equal(l.calls, 1);
    l.release();
    assert.deepEqual(new Set(await Promise.all(answers)), new Set(['v']));
    assert.equal(cache.load('k', l.fetch), 'v', 'a hit answers synchronously');
    assert.equal(l.calls, 1);
  });

  it('an invalidation during a lookup: its answer is not cached, and newcomers look again', async () => {
    const cache = new TtlCache<string>(60_000, 100, Date.now);
    const stale = lookup('before');
    const first = cache.load('k', stale.fetch);
    cache.delete('k'); // e.g. a right removed while the first lookup was in flight
    const fresh = lookup('after');
    const second = cache.load('k', fresh.fetch);
    assert.equal(fresh.calls, 1, 'a lookup after the change does not join the stale one');
    stale.release();
    fresh.release();
    assert.equal(await first, 'before');
    assert.equal(await second, 'after');
    assert.equal(cache.get('k'), 'after', 'only the lookup made after the change is cached');
  });

  it('keep decides what is cached; flightKey separates lookups that share a cache key', async () => {
    const cache = new TtlCache<string | null>(60_000, 100, Date.now);
    const orgA = lookup<string | null>(null);
    const orgB = lookup<string | null>('channel of B');
    const keep = (v: string | null) => v !== null;
    const a = cache.load('ch', orgA.fetch, { keep, flightKey: 'A|ch' });
    const b = cache.load('ch', orgB.fetch, { keep, flightKey: 'B|ch' });
    assert.equal(orgA.calls + orgB.calls, 2, "one organization's miss is not another's answer");
    orgA.release();
    orgB.release();
    assert.equal(await a, null);
    assert.equal(await b, 'channel of B');
    assert.equal(cache.get('ch'), 'channel of B', 'the hit is cached, the miss is not');
  });

  it('a failed lookup is not cached and every waiter gets the error', async () => {
    const cache = new TtlCache<string>(60_000, 100, Date.now);
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('database down'));
    };
    const results = await Promise.allSettled([cache.load('k', failing), cache.load('k', failing)]);
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(await cache.load('k', () => Promise.resolve('up')), 'up');
  });
});
