import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '@bulwark/protocol';
import { instrument } from '../src/instrument.js';

class Counter {
  #n = 0;
  async add(k: number): Promise<number> {
    this.#n += k;
    return this.#n;
  }
  async refuse(): Promise<never> {
    throw new BulwarkError('forbidden');
  }
  sync(): string {
    return 'ok';
  }
}

describe('instrument()', () => {
  it('reports every call with its duration, and keeps results, errors and private state', async () => {
    const seen: { method: string; error?: unknown }[] = [];
    const c = instrument('counter', new Counter(), (e) => seen.push(e));
    assert.equal(await c.add(2), 2);
    assert.equal(await c.add(3), 5);
    assert.equal(c.sync(), 'ok');
    await assert.rejects(
      c.refuse(),
      (e: unknown) => e instanceof BulwarkError && e.code === 'forbidden',
    );
    assert.deepEqual(
      seen.map((e) => e.method),
      ['add', 'add', 'sync', 'refuse'],
    );
    assert.ok(seen[3]!.error instanceof BulwarkError);
  });
});
