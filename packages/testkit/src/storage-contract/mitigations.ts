import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  newId,
  type MitigationFilter,
  type MitigationPolicyRecord,
  type MitigationRecord,
} from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const policyFx = (orgId: string, over: Partial<MitigationPolicyRecord> = {}) =>
  ({
    id: newId(),
    orgId,
    name: `policy-${newId()}`,
    enabled: true,
    kinds: ['cloned_certificate', 'auth_bruteforce'],
    minSeverity: 'high',
    locationId: null,
    action: 'set_desired',
    params: { patch: { net: { allow: ['10.0.0.1'], deep: { on: true } } } },
    dryRun: false,
    createdBy: { type: 'user', id: newId() },
    createdAt: T0,
    updatedAt: T0,
    ...over,
  }) satisfies MitigationPolicyRecord;

const actionFx = (orgId: string, deviceId: string | null, over: Partial<MitigationRecord> = {}) =>
  ({
    id: newId(),
    orgId,
    deviceId,
    alertId: newId(),
    policyId: newId(),
    actor: 'policy:x',
    action: 'quarantine',
    params: {},
    state: 'applied',
    reason: 'policy p on alert cloned_certificate (critical)',
    summary: ['set the device state active → quarantined'],
    previous: { state: 'active' },
    error: null,
    at: T0,
    revertedAt: null,
    revertedBy: null,
    ...over,
  }) satisfies MitigationRecord;

/**
 * Mitigations (decision 0036): policies kept as given and changed field by field; the action log
 * round-trips, filters by device, alert and state, pages newest first; a revert is a
 * compare-and-set that wins once. Another organization reads and changes nothing.
 */
export function mitigationSuite(open: OpenStorage): void {
  describe('MitigationStore', () => {
    const s = useStorage(open);

    it('policies: create, get, list oldest first, update some fields, delete; tenancy', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const p1 = policyFx(org.id);
      const p2 = policyFx(org.id, {
        action: 'quarantine',
        params: {},
        dryRun: true,
        enabled: false,
        locationId: newId(),
        createdBy: { type: 'api_key', id: newId() },
      });
      await s().mitigations.createPolicy(p1);
      await s().mitigations.createPolicy(p2);
      assert.deepEqual(await s().mitigations.getPolicy(org.id, p1.id), p1);
      assert.deepEqual(await s().mitigations.listPolicies(org.id), [p1, p2]);
      assert.equal(await s().mitigations.getPolicy(other.id, p1.id), undefined);
      assert.deepEqual(await s().mitigations.listPolicies(other.id), []);
      assert.equal(
        await s().mitigations.updatePolicy(other.id, p1.id, { name: 'stolen' }),
        undefined,
      );
      const by = { type: 'api_key' as const, id: newId() };
      const u = await s().mitigations.updatePolicy(org.id, p1.id, {
        name: 'renamed',
        enabled: false,
        kinds: ['message_flood'],
        minSeverity: 'critical',
        dryRun: true,
        createdBy: by,
        updatedAt: T0 + 5,
      });
      assert.deepEqual(u, {
        ...p1,
        name: 'renamed',
        enabled: false,
        kinds: ['message_flood'],
        minSeverity: 'critical',
        dryRun: true,
        createdBy: by,
        updatedAt: T0 + 5,
      });
      assert.equal(await s().mitigations.deletePolicy(other.id, p1.id), false);
      assert.equal(await s().mitigations.deletePolicy(org.id, p1.id), true);
      assert.equal(await s().mitigations.deletePolicy(org.id, p1.id), false);
      assert.deepEqual(await s().mitigations.listPolicies(org.id), [p2]);
    });

    it('actions: round trip, filters, pages newest first, tenancy', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const d1 = await seedDevice(s(), org.id);
      const d2 = await seedDevice(s(), org.id);
      const alertId = newId();
      const a = actionFx(org.id, d1.id, { alertId });
      const b = actionFx(org.id, d1.id, {
        action: 'set_desired',
        params: { patch: { a: { b: 1 } } },
        state: 'dry_run',
        previous: null,
        alertId: null,
        policyId: null,
        actor: 'user:u1',
        reason: null,
      });
      const c = actionFx(org.id, d2.id, {
        state: 'failed',
        error: 'the device is decommissioned',
        summary: [],
        previous: null,
        alertId,
      });
      for (const m of [a, b, c]) await s().mitigations.record(m);
      assert.deepEqual(await s().mitigations.get(org.id, b.id), b);
      assert.equal(await s().mitigations.get(other.id, b.id), undefined);
      const ids = async (f: MitigationFilter) =>
        (await s().mitigations.list(org.id, f, { limit: 10, cursor: null })).items.map((m) => m.id);
      assert.deepEqual(await ids({}), [c.id, b.id, a.id]);
      assert.deepEqual(await ids({ deviceId: d1.id }), [b.id, a.id]);
      assert.deepEqual(await ids({ alertId }), [c.id, a.id]);
      assert.deepEqual(await ids({ state: 'failed' }), [c.id]);
      assert.deepEqual(await ids({ deviceId: d2.id, state: 'applied' }), []);
      const p1 = await s().mitigations.list(org.id, {}, { limit: 2, cursor: null });
      assert.deepEqual(
        p1.items.map((m) => m.id),
        [c.id, b.id],
      );
      assert.ok(p1.nextCursor);
      const p2 = await s().mitigations.list(org.id, {}, { limit: 2, cursor: p1.nextCursor });
      assert.deepEqual(
        p2.items.map((m) => m.id),
        [a.id],
      );
      assert.equal(p2.nextCursor, null);
      assert.deepEqual(
        (await s().mitigations.list(other.id, {}, { limit: 10, cursor: null })).items,
        [],
      );
    });

    it('markReverted: applied → reverted once; not another organization, not a dry run', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const d = await seedDevice(s(), org.id);
      const a = actionFx(org.id, d.id);
      const dry = actionFx(org.id, d.id, { state: 'dry_run', previous: null });
      await s().mitigations.record(a);
      await s().mitigations.record(dry);
      assert.equal(await s().mitigations.markReverted(other.id, a.id, T0 + 1, 'user:x'), undefined);
      const r = await s().mitigations.markReverted(org.id, a.id, T0 + 2, 'user:u1');
      assert.deepEqual(r, { ...a, state: 'reverted', revertedAt: T0 + 2, revertedBy: 'user:u1' });
      assert.equal(await s().mitigations.markReverted(org.id, a.id, T0 + 3, 'user:u2'), undefined);
      assert.equal(
        await s().mitigations.markReverted(org.id, dry.id, T0 + 3, 'user:u2'),
        undefined,
      );
      assert.equal((await s().mitigations.get(org.id, a.id))?.revertedBy, 'user:u1');
    });

    it('listSourceBlocks: applied blocks of every organization since a time, on no device', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const d = await seedDevice(s(), org.id);
      const block = (orgId: string, at: number, over: Partial<MitigationRecord> = {}) =>
        actionFx(orgId, null, {
          action: 'block_source',
          params: { source: '192.0.2.7', durationSeconds: 600 },
          previous: { source: '192.0.2.7', until: at + 600_000, hubWide: false },
          summary: ['block new authentications from 192.0.2.7'],
          at,
          ...over,
        });
      const since = T0 + 10_000_000;
      const mine = block(org.id, since + 1);
      const theirs = block(other.id, since + 2, { params: { source: '2001:db8::7' } });
      const old = block(org.id, since - 1);
      const dry = block(org.id, since + 3, { state: 'dry_run', previous: null });
      const released = block(org.id, since + 4);
      const quarantine = actionFx(org.id, d.id, { at: since + 5 });
      for (const m of [mine, theirs, old, dry, released, quarantine])
        await s().mitigations.record(m);
      await s().mitigations.markReverted(org.id, released.id, since + 6, 'user:u');
      assert.deepEqual(await s().mitigations.listSourceBlocks(since), [mine, theirs]);
      assert.deepEqual(await s().mitigations.get(org.id, mine.id), mine, 'a null device');
    });
  });
}
