import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId } from '@bulwark/core';
import { useStorage, type OpenStorage } from './harness.js';

/** SystemStore: get, put and compareAndSet (absent = undefined on both sides). */
export function systemSuite(open: OpenStorage): void {
  describe('SystemStore', () => {
    const s = useStorage(open);
    const key = () => `k.${newId()}`;

    it('get is undefined for a missing key; put sets and overwrites', async () => {
      const k = key();
      assert.equal(await s().system.get(k), undefined);
      await s().system.put(k, 'one');
      assert.equal(await s().system.get(k), 'one');
      await s().system.put(k, 'two');
      assert.equal(await s().system.get(k), 'two');
      await s().system.put(k, '');
      assert.equal(await s().system.get(k), '');
    });

    it('compareAndSet with expected undefined creates only when absent', async () => {
      const k = key();
      assert.equal(await s().system.compareAndSet(k, undefined, 'v1'), true);
      assert.equal(await s().system.get(k), 'v1');
      assert.equal(await s().system.compareAndSet(k, undefined, 'v2'), false);
      assert.equal(await s().system.get(k), 'v1');
    });

    it('compareAndSet replaces only when the current value equals expected', async () => {
      const k = key();
      await s().system.put(k, 'v1');
      assert.equal(await s().system.compareAndSet(k, 'wrong', 'v2'), false);
      assert.equal(await s().system.get(k), 'v1');
      assert.equal(await s().system.compareAndSet(k, 'v1', 'v2'), true);
      assert.equal(await s().system.get(k), 'v2');
      assert.equal(await s().system.compareAndSet(key(), 'v1', 'v2'), false);
    });

    it('compareAndSet with next undefined deletes when expected matches', async () => {
      const k = key();
      await s().system.put(k, 'v1');
      assert.equal(await s().system.compareAndSet(k, 'other', undefined), false);
      assert.equal(await s().system.get(k), 'v1');
      assert.equal(await s().system.compareAndSet(k, 'v1', undefined), true);
      assert.equal(await s().system.get(k), undefined);
    });

    it('compareAndSet(undefined, undefined) succeeds only when the key is absent', async () => {
      const k = key();
      assert.equal(await s().system.compareAndSet(k, undefined, undefined), true);
      assert.equal(await s().system.get(k), undefined);
      await s().system.put(k, 'v');
      assert.equal(await s().system.compareAndSet(k, undefined, undefined), false);
      assert.equal(await s().system.get(k), 'v');
    });

    it('concurrent compareAndSet calls from the same state: exactly one wins', async () => {
      const k = key();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => s().system.compareAndSet(k, undefined, `v${i}`)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await s().system.get(k), `v${results.indexOf(true)}`);
    });
  });
}
