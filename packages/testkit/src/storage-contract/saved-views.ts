import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId, type SavedView } from '@bulwark/core';
import { T0, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const viewFx = (orgId: string, ownerId: string, over: Partial<SavedView> = {}): SavedView => ({
  id: newId(),
  orgId,
  ownerId,
  name: 'online pumps',
  query: { type: 'pump', online: true, sort: '-lastSeenAt', tag: ['line-a', 'roof'] },
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

/** SavedViewStore: per owner, replaced by name, deleted only by its owner (migration 26). */
export function savedViewSuite(open: OpenStorage): void {
  describe('SavedViewStore', () => {
    const s = useStorage(open);

    it('saves and lists the owner’s views by name, the query as given', async () => {
      const org = await seedOrg(s());
      const owner = newId();
      const b = viewFx(org.id, owner, { name: 'b-view' });
      const a = viewFx(org.id, owner, { name: 'a-view', query: { q: '100%_' } });
      assert.deepEqual(await s().savedViews.save(b), b);
      await s().savedViews.save(a);
      assert.deepEqual(await s().savedViews.list(org.id, owner), [a, b]);
      assert.deepEqual(await s().savedViews.list(org.id, newId()), []);
    });

    it('a second save of a name replaces its query, keeping id and createdAt', async () => {
      const org = await seedOrg(s());
      const owner = newId();
      const first = await s().savedViews.save(viewFx(org.id, owner));
      const again = await s().savedViews.save(
        viewFx(org.id, owner, {
          query: { state: 'quarantined' },
          createdAt: T0 + 5,
          updatedAt: T0 + 5,
        }),
      );
      assert.equal(again.id, first.id);
      assert.equal(again.createdAt, T0);
      assert.equal(again.updatedAt, T0 + 5);
      assert.deepEqual(again.query, { state: 'quarantined' });
      assert.deepEqual(await s().savedViews.list(org.id, owner), [again]);
    });

    it('owners and organizations are apart: same names coexist, nobody deletes another’s', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const [me, you] = [newId(), newId()];
      const mine = await s().savedViews.save(viewFx(org.id, me));
      const yours = await s().savedViews.save(viewFx(org.id, you));
      const theirs = await s().savedViews.save(viewFx(other.id, me));
      assert.notEqual(mine.id, yours.id);
      assert.equal(await s().savedViews.delete(org.id, you, mine.id), false);
      assert.equal(await s().savedViews.delete(other.id, me, mine.id), false);
      assert.deepEqual(await s().savedViews.list(org.id, me), [mine]);
      assert.equal(await s().savedViews.delete(org.id, me, mine.id), true);
      assert.equal(await s().savedViews.delete(org.id, me, mine.id), false);
      assert.deepEqual(await s().savedViews.list(org.id, me), []);
      assert.deepEqual(await s().savedViews.list(org.id, you), [yours]);
      assert.deepEqual(await s().savedViews.list(other.id, me), [theirs]);
    });
  });
}
