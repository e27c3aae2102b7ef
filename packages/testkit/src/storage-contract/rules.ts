import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId, type RuleRecord } from '@bulwark/core';
import { T0, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

/** A stored rule of `orgId` (ids made at increasing times so they sort in creation order). */
export const ruleFx = (orgId: string, over: Partial<RuleRecord> = {}): RuleRecord => ({
  id: newId(),
  orgId,
  name: 'hot',
  description: 'too hot for a minute',
  enabled: true,
  record: 'temp',
  condition: { op: 'gt', value: 80 },
  forSeconds: 60,
  scope: { tag: 'boiler' },
  actions: [
    { type: 'alert', resolveOnClear: true },
    { type: 'command', name: 'fan.on', params: { speed: 3 }, timeoutSeconds: 60 },
    { type: 'twin', path: 'cooling.mode', value: { level: 'max', on: true } },
  ],
  createdBy: newId(),
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

/** RuleStore: a rule's definition round-trips; organizations never see each other's rules. */
export function rulesSuite(open: OpenStorage): void {
  describe('RuleStore', () => {
    const s = useStorage(open);

    it('stores a rule and reads it back exactly', async () => {
      const org = await seedOrg(s());
      const r = ruleFx(org.id);
      await s().rules.create(r);
      assert.deepEqual(await s().rules.get(org.id, r.id), r);
      assert.equal(await s().rules.count(org.id), 1);
    });

    it("does not show, change or delete another organization's rule", async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const r = ruleFx(a.id);
      await s().rules.create(r);
      assert.equal(await s().rules.get(b.id, r.id), undefined);
      assert.equal(await s().rules.update(b.id, r.id, { enabled: false }), undefined);
      assert.equal(await s().rules.delete(b.id, r.id), false);
      assert.equal((await s().rules.list(b.id, { limit: 10, cursor: null })).items.length, 0);
      assert.equal(await s().rules.count(b.id), 0);
      assert.deepEqual(await s().rules.listEnabled(b.id), []);
      assert.deepEqual(await s().rules.get(a.id, r.id), r);
    });

    it('lists in creation order, a page at a time', async () => {
      const org = await seedOrg(s());
      const made: RuleRecord[] = [];
      for (let i = 0; i < 5; i++) {
        const r = ruleFx(org.id, { name: `r${i}` });
        made.push(r);
        await s().rules.create(r);
      }
      const first = await s().rules.list(org.id, { limit: 2, cursor: null });
      assert.deepEqual(
        first.items.map((r) => r.name),
        ['r0', 'r1'],
      );
      assert.notEqual(first.nextCursor, null);
      const second = await s().rules.list(org.id, { limit: 10, cursor: first.nextCursor });
      assert.deepEqual(
        second.items.map((r) => r.name),
        ['r2', 'r3', 'r4'],
      );
      assert.equal(second.nextCursor, null);
      assert.equal(await s().rules.count(org.id), 5);
    });

    it('applies a patch to fields and definition alike', async () => {
      const org = await seedOrg(s());
      const r = ruleFx(org.id);
      await s().rules.create(r);
      const changed = await s().rules.update(org.id, r.id, {
        name: 'cold',
        condition: { op: 'between', min: -5, max: 5 },
        forSeconds: 0,
        scope: {},
        actions: [{ type: 'alert' }],
        updatedAt: T0 + 5,
      });
      const want = {
        ...r,
        name: 'cold',
        condition: { op: 'between' as const, min: -5, max: 5 },
        forSeconds: 0,
        scope: {},
        actions: [{ type: 'alert' as const }],
        updatedAt: T0 + 5,
      };
      assert.deepEqual(changed, want);
      assert.deepEqual(await s().rules.get(org.id, r.id), want);
      assert.equal(await s().rules.update(org.id, newId(), { name: 'x' }), undefined);
    });

    it('lists the enabled rules of one organization or of all', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const on = ruleFx(a.id);
      const off = ruleFx(a.id, { enabled: false });
      const other = ruleFx(b.id);
      for (const r of [on, off, other]) await s().rules.create(r);
      assert.deepEqual(
        (await s().rules.listEnabled(a.id)).map((r) => r.id),
        [on.id],
      );
      const all = (await s().rules.listEnabled()).map((r) => r.id);
      assert.ok(all.includes(on.id) && all.includes(other.id) && !all.includes(off.id));
      await s().rules.update(a.id, off.id, { enabled: true });
      assert.deepEqual(
        (await s().rules.listEnabled(a.id)).map((r) => r.id),
        [on.id, off.id],
      );
    });

    it('deletes a rule once', async () => {
      const org = await seedOrg(s());
      const r = ruleFx(org.id);
      await s().rules.create(r);
      assert.equal(await s().rules.delete(org.id, r.id), true);
      assert.equal(await s().rules.delete(org.id, r.id), false);
      assert.equal(await s().rules.get(org.id, r.id), undefined);
      assert.equal(await s().rules.count(org.id), 0);
    });
  });
}
