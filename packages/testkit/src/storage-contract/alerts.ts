import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  newId,
  type AlertFilter,
  type AlertRecord,
  type DeliveryRecord,
  type MaintenanceWindowRecord,
  type NotificationEndpointRecord,
  type NotificationRuleRecord,
} from '@bulwark/core';
import { T0, membershipFx, seedDevice, seedOrg, userFx } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const alertFx = (
  orgId: string,
  deviceId: string | null,
  at: number,
  over: Partial<AlertRecord> = {},
): AlertRecord => ({
  id: newId(at),
  orgId,
  deviceId,
  kind: 'device_offline',
  severity: 'medium',
  state: 'open',
  title: 'Device offline',
  dedupKey: `device_offline:${deviceId ?? 'fleet'}`,
  groupKey: 'device_offline',
  evidence: { reason: 'socket_closed', observed: 1 },
  occurrences: 1,
  openedAt: at,
  lastSeenAt: at,
  acknowledgedAt: null,
  acknowledgedBy: null,
  resolvedAt: null,
  resolvedBy: null,
  assignee: null,
  mutedUntil: null,
  muteReason: null,
  updatedAt: at,
  ...over,
});

const endpointFx = (orgId: string, over: Partial<NotificationEndpointRecord> = {}) =>
  ({
    id: newId(),
    orgId,
    name: `hook-${newId()}`,
    settings: { kind: 'webhook', format: 'json', origin: 'https://example.com', caPem: null },
    secretsSealed: 'v1.sealed',
    enabled: true,
    consecutiveFailures: 0,
    breakerOpenUntil: 0,
    lastSuccessAt: null,
    lastFailureAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  }) satisfies NotificationEndpointRecord;

const deliveryFx = (
  orgId: string,
  endpointId: string,
  over: Partial<DeliveryRecord> = {},
): DeliveryRecord => ({
  id: newId(),
  orgId,
  endpointId,
  alertId: null,
  ruleId: null,
  event: 'test',
  payload: { type: 'test', nested: { a: [1, 'b'] } },
  state: 'pending',
  attempts: 0,
  nextAttemptAt: T0,
  lastError: null,
  createdAt: T0,
  updatedAt: T0,
  deliveredAt: null,
  ...over,
});

/**
 * Alerts (decision 0030): one active alert per dedup key, occurrences counted, reopened within the
 * cool-down; compare-and-set lifecycle changes; filters, groups, comments. Notifications: endpoints
 * with their breaker counts, rules, and the delivery queue's lease, settle, dead letters and
 * redrive. Tenancy: another organization reads and changes nothing.
 */
export function alertSuite(open: OpenStorage): void {
  describe('AlertStore', () => {
    const s = useStorage(open);

    it('raise: opened, then repeated (count and evidence grow, severity only rises), resolve, reopen within the cool-down', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const a1 = alertFx(org.id, device.id, T0);
      const r1 = await s().alerts.raise(a1, T0 - 1);
      assert.equal(r1.outcome, 'opened');
      assert.deepEqual(r1.alert, a1);
      const r2 = await s().alerts.raise(
        alertFx(org.id, device.id, T0 + 5, { severity: 'high', evidence: { observed: 2 } }),
        T0 - 1,
      );
      assert.equal(r2.outcome, 'repeated');
      assert.equal(r2.alert.id, a1.id);
      assert.equal(r2.alert.occurrences, 2);
      assert.equal(r2.alert.lastSeenAt, T0 + 5);
      assert.equal(r2.alert.severity, 'high');
      assert.deepEqual(r2.alert.evidence, { observed: 2 });
      const r3 = await s().alerts.raise(
        alertFx(org.id, device.id, T0 + 6, { severity: 'low' }),
        null,
      );
      assert.equal(r3.alert.severity, 'high', 'a lower severity does not lower it');
      assert.equal(r3.alert.occurrences, 3);

      const resolved = await s().alerts.resolveByKey(org.id, a1.dedupKey, T0 + 10, 'system');
      assert.equal(resolved?.state, 'resolved');
      assert.equal(resolved?.resolvedAt, T0 + 10);
      assert.equal(resolved?.resolvedBy, 'system');
      assert.equal(
        await s().alerts.resolveByKey(org.id, a1.dedupKey, T0 + 11, 'system'),
        undefined,
      );

      // Within the cool-down (resolved at or after reopenSince): the same alert opens again.
      const r4 = await s().alerts.raise(alertFx(org.id, device.id, T0 + 20), T0 + 10);
      assert.equal(r4.outcome, 'reopened');
      assert.equal(r4.alert.id, a1.id);
      assert.equal(r4.alert.state, 'open');
      assert.equal(r4.alert.resolvedAt, null);
      assert.equal(r4.alert.occurrences, 4);
      await s().alerts.resolveByKey(org.id, a1.dedupKey, T0 + 30, 'system');
      // After it: a new alert.
      const fresh = alertFx(org.id, device.id, T0 + 100);
      const r5 = await s().alerts.raise(fresh, T0 + 31);
      assert.equal(r5.outcome, 'opened');
      assert.equal(r5.alert.id, fresh.id);

      // Another organization's key is another alert; its resolve touches nothing here.
      const other = await seedOrg(s());
      assert.equal(await s().alerts.resolveByKey(other.id, a1.dedupKey, T0, 'system'), undefined);
      assert.equal(await s().alerts.get(other.id, a1.id), undefined);
      const fleet = alertFx(other.id, null, T0, {
        kind: 'auth_bruteforce',
        dedupKey: 'auth_bruteforce:10.0.0.9',
      });
      assert.equal((await s().alerts.raise(fleet, null)).outcome, 'opened');
      assert.equal((await s().alerts.get(other.id, fleet.id))?.deviceId, null);
    });

    it('concurrent raises of one key end with one active alert counting them all', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          s().alerts.raise(alertFx(org.id, device.id, T0 + i), T0),
        ),
      );
      assert.equal(results.filter((r) => r.outcome === 'opened').length, 1);
      const active = await s().alerts.list(org.id, { active: true }, { limit: 10 });
      assert.equal(active.items.length, 1);
      assert.equal(active.items[0]?.occurrences, 8);
    });

    it('update is a compare-and-set on the state; list filters; groups; comments', async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const a = (await s().alerts.raise(alertFx(org.id, device.id, T0), null)).alert;
      const b = (
        await s().alerts.raise(
          alertFx(org.id, null, T0 + 1, {
            kind: 'auth_bruteforce',
            severity: 'critical',
            dedupKey: 'auth_bruteforce:10.0.0.1',
            groupKey: 'auth_bruteforce:site-1',
          }),
          null,
        )
      ).alert;
      const acked = await s().alerts.update(
        org.id,
        a.id,
        ['open'],
        {
          state: 'acknowledged',
          acknowledgedAt: T0 + 2,
          acknowledgedBy: 'user:u1',
          assignee: null,
        },
        T0 + 2,
      );
      assert.equal(acked?.state, 'acknowledged');
      assert.equal(acked?.acknowledgedBy, 'user:u1');
      assert.equal(acked?.updatedAt, T0 + 2);
      assert.equal(
        await s().alerts.update(org.id, a.id, ['open'], { state: 'acknowledged' }, T0 + 3),
        undefined,
        'not open any more',
      );
      const other = await seedOrg(s());
      assert.equal(
        await s().alerts.update(other.id, b.id, ['open'], { state: 'resolved' }, T0 + 3),
        undefined,
        'another organization changes nothing',
      );
      const muted = await s().alerts.update(
        org.id,
        b.id,
        ['open', 'acknowledged'],
        { mutedUntil: T0 + 60_000, muteReason: 'maintenance' },
        T0 + 4,
      );
      assert.equal(muted?.mutedUntil, T0 + 60_000);
      assert.equal(muted?.state, 'open');

      const ids = async (f: AlertFilter) =>
        (await s().alerts.list(org.id, f, { limit: 10 })).items.map((x) => x.id);
      assert.deepEqual(await ids({ active: true }), [b.id, a.id]);
      assert.deepEqual(await ids({ state: 'acknowledged' }), [a.id]);
      assert.deepEqual(await ids({ severity: 'critical' }), [b.id]);
      assert.deepEqual(await ids({ kind: 'device_offline', deviceId: device.id }), [a.id]);
      assert.deepEqual(await ids({ groupKey: 'auth_bruteforce:site-1' }), [b.id]);
      const page1 = await s().alerts.list(org.id, {}, { limit: 1 });
      assert.ok(page1.nextCursor);
      const page2 = await s().alerts.list(org.id, {}, { limit: 1, cursor: page1.nextCursor });
      assert.deepEqual(
        page2.items.map((x) => x.id),
        [a.id],
      );
      assert.equal((await s().alerts.list(other.id, {}, { limit: 10 })).items.length, 0);

      const groups = await s().alerts.groups(org.id, 10);
      assert.deepEqual(
        groups.map((g) => [g.groupKey, g.count, g.severity]),
        [
          ['auth_bruteforce:site-1', 1, 'critical'],
          ['device_offline', 1, 'medium'],
        ],
      );
      assert.deepEqual(await s().alerts.groups(other.id, 10), []);

      const user = userFx();
      await s().users.create(user);
      await s().memberships.put(membershipFx(org.id, user.id));
      for (const [i, body] of ['first', 'second'].entries())
        await s().alerts.addComment({
          id: newId(T0 + 10 + i),
          orgId: org.id,
          alertId: a.id,
          author: `user:${user.id}`,
          body,
          at: T0 + 10 + i,
        });
      assert.deepEqual(
        (await s().alerts.comments(org.id, a.id, 10)).map((c) => c.body),
        ['first', 'second'],
      );
      assert.deepEqual(await s().alerts.comments(other.id, a.id, 10), []);
    });
  });

  describe('NotificationStore', () => {
    const s = useStorage(open);

    it('endpoints: create, read, update, breaker counts; rules; tenancy', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const e = endpointFx(org.id);
      await s().notifications.createEndpoint(e);
      assert.deepEqual(await s().notifications.getEndpoint(org.id, e.id), e);
      assert.equal(await s().notifications.getEndpoint(other.id, e.id), undefined);
      assert.deepEqual(await s().notifications.listEndpoints(other.id), []);
      const updated = await s().notifications.updateEndpoint(
        org.id,
        e.id,
        { name: 'renamed', settings: e.settings, secretsSealed: 'v1.other', enabled: false },
        T0 + 1,
      );
      assert.equal(updated?.name, 'renamed');
      assert.equal(updated?.enabled, false);
      assert.equal(updated?.secretsSealed, 'v1.other');
      assert.equal(
        await s().notifications.updateEndpoint(other.id, e.id, { ...e, name: 'x' }, T0),
        undefined,
      );
      assert.equal(await s().notifications.endpointFailed(org.id, e.id, T0 + 2), 1);
      assert.equal(await s().notifications.endpointFailed(org.id, e.id, T0 + 3), 2);
      await s().notifications.openBreaker(org.id, e.id, T0 + 100);
      let got = await s().notifications.getEndpoint(org.id, e.id);
      assert.equal(got?.consecutiveFailures, 2);
      assert.equal(got?.breakerOpenUntil, T0 + 100);
      assert.equal(got?.lastFailureAt, T0 + 3);
      await s().notifications.endpointSucceeded(org.id, e.id, T0 + 4);
      got = await s().notifications.getEndpoint(org.id, e.id);
      assert.equal(got?.consecutiveFailures, 0);
      assert.equal(got?.breakerOpenUntil, 0);
      assert.equal(got?.lastSuccessAt, T0 + 4);

      const rule: NotificationRuleRecord = {
        id: newId(),
        orgId: org.id,
        name: 'critical at site',
        enabled: true,
        locationId: newId(),
        minSeverity: 'high',
        kinds: ['device_offline'],
        endpointIds: [e.id],
        notifyResolved: true,
        escalation: { afterMinutes: 15, endpointIds: [e.id] },
        createdAt: T0,
        updatedAt: T0,
      };
      await s().notifications.createRule(rule);
      assert.deepEqual(await s().notifications.getRule(org.id, rule.id), rule);
      assert.deepEqual(await s().notifications.listRules(org.id), [rule]);
      assert.equal(await s().notifications.getRule(other.id, rule.id), undefined);
      const changed = { ...rule, escalation: null, kinds: [], updatedAt: T0 + 9 };
      assert.equal(await s().notifications.updateRule(changed), true);
      assert.deepEqual(await s().notifications.getRule(org.id, rule.id), changed);
      assert.equal(await s().notifications.updateRule({ ...changed, orgId: other.id }), false);
      assert.equal(await s().notifications.deleteRule(other.id, rule.id), false);
      assert.equal(await s().notifications.deleteRule(org.id, rule.id), true);
      assert.equal(await s().notifications.deleteEndpoint(other.id, e.id), false);
      assert.equal(await s().notifications.deleteEndpoint(org.id, e.id), true);
    });

    it('deliveries: claimed once under a lease, not while the breaker is open; settle, release, dead letters, redrive, prune', async () => {
      const org = await seedOrg(s());
      const e = endpointFx(org.id);
      const broken = endpointFx(org.id, {
        breakerOpenUntil: T0 + 1_000_000,
        consecutiveFailures: 5,
      });
      await s().notifications.createEndpoint(e);
      await s().notifications.createEndpoint(broken);
      const due = deliveryFx(org.id, e.id);
      const later = deliveryFx(org.id, e.id, { nextAttemptAt: T0 + 500 });
      const blocked = deliveryFx(org.id, broken.id);
      await s().notifications.enqueue([due, later, blocked]);

      const claimedA = await s().notifications.claimDue(T0, 'node-a', T0 + 30_000, 10);
      assert.deepEqual(
        claimedA.map((d) => d.id),
        [due.id],
      );
      assert.deepEqual(claimedA[0]?.payload, due.payload);
      assert.deepEqual(
        await s().notifications.claimDue(T0, 'node-b', T0 + 30_000, 10),
        [],
        'leased',
      );
      // Concurrent claims of the same due work: each delivery to one holder.
      const more = Array.from({ length: 6 }, () =>
        deliveryFx(org.id, e.id, { nextAttemptAt: T0 + 600 }),
      );
      await s().notifications.enqueue(more);
      const [x, y] = await Promise.all([
        s().notifications.claimDue(T0 + 600, 'node-x', T0 + 30_000, 10),
        s().notifications.claimDue(T0 + 600, 'node-y', T0 + 30_000, 10),
      ]);
      const all = [...x, ...y].map((d) => d.id);
      assert.equal(new Set(all).size, all.length, 'no delivery leased twice');
      assert.equal(all.includes(blocked.id), false, 'the open breaker holds its deliveries');
      assert.equal(all.length, 7, 'the later one and the six');
      await s().notifications.release('node-x');
      await s().notifications.release('node-y');

      // Only the holder settles.
      const outcome = {
        state: 'pending' as const,
        attempts: 1,
        nextAttemptAt: T0 + 5_000,
        lastError: 'HTTP 500',
        deliveredAt: null,
      };
      assert.equal(await s().notifications.settle(due.id, 'node-b', outcome, T0 + 1), false);
      assert.equal(await s().notifications.settle(due.id, 'node-a', outcome, T0 + 1), true);
      const after = await s().notifications.getDelivery(org.id, due.id);
      assert.equal(after?.attempts, 1);
      assert.equal(after?.lastError, 'HTTP 500');
      assert.equal(after?.nextAttemptAt, T0 + 5_000);

      // Dead, listed, re-driven.
      await s().notifications.claimDue(T0 + 5_000, 'node-a', T0 + 40_000, 20);
      await s().notifications.settle(
        due.id,
        'node-a',
        { ...outcome, state: 'dead', attempts: 8 },
        T0 + 5_001,
      );
      const dead = await s().notifications.listDeliveries(org.id, { state: 'dead' }, { limit: 10 });
      assert.deepEqual(
        dead.items.map((d) => d.id),
        [due.id],
      );
      const other = await seedOrg(s());
      assert.equal(await s().notifications.redrive(other.id, due.id, T0 + 6_000), undefined);
      assert.equal(await s().notifications.getDelivery(other.id, due.id), undefined);
      assert.deepEqual(
        (await s().notifications.listDeliveries(other.id, {}, { limit: 10 })).items,
        [],
      );
      const again = await s().notifications.redrive(org.id, due.id, T0 + 6_000);
      assert.equal(again?.state, 'pending');
      assert.equal(again?.attempts, 0);
      assert.equal(again?.nextAttemptAt, T0 + 6_000);
      assert.equal(
        await s().notifications.redrive(org.id, due.id, T0 + 6_000),
        undefined,
        'not dead',
      );

      // Breaker closed again: its delivery is claimable.
      await s().notifications.endpointSucceeded(org.id, broken.id, T0);
      const c = await s().notifications.claimDue(T0 + 6_000, 'node-c', T0 + 60_000, 20);
      assert.ok(c.some((d) => d.id === blocked.id));
      await s().notifications.settle(
        blocked.id,
        'node-c',
        {
          state: 'delivered',
          attempts: 1,
          nextAttemptAt: T0,
          lastError: null,
          deliveredAt: T0 + 7_000,
        },
        T0 + 7_000,
      );
      assert.equal(await s().notifications.pruneSettled(T0 + 7_000), 0, 'not older than');
      assert.equal(await s().notifications.pruneSettled(T0 + 7_001), 1);
      assert.equal(await s().notifications.getDelivery(org.id, blocked.id), undefined);
    });

    it('maintenance windows: create, read, list by end (soonest start first, limited), delete; tenancy', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const fx = (over: Partial<MaintenanceWindowRecord>): MaintenanceWindowRecord => ({
        id: newId(),
        orgId: org.id,
        locationId: null,
        kinds: [],
        startsAt: T0,
        endsAt: T0 + 1_000,
        reason: 'firmware rollout at the plant',
        createdBy: 'user:u1',
        createdAt: T0,
        ...over,
      });
      const ended = fx({ startsAt: T0 - 2_000, endsAt: T0 - 1_000 });
      const site = fx({
        locationId: newId(),
        kinds: ['device_offline', 'message_flood'],
        startsAt: T0 + 500,
        endsAt: T0 + 5_000,
      });
      const now = fx({});
      for (const w of [site, ended, now]) await s().notifications.createWindow(w);
      assert.deepEqual(await s().notifications.getWindow(org.id, site.id), site);
      assert.equal(await s().notifications.getWindow(other.id, site.id), undefined);
      assert.deepEqual(
        (await s().notifications.listWindows(org.id, {}, 10)).map((w) => w.id),
        [ended.id, now.id, site.id],
      );
      assert.deepEqual(await s().notifications.listWindows(org.id, { endsAfter: T0 }, 10), [
        now,
        site,
      ]);
      assert.deepEqual(
        (await s().notifications.listWindows(org.id, { endsAfter: T0 + 1_000 }, 10)).map(
          (w) => w.id,
        ),
        [site.id],
        'a window ending exactly then is over',
      );
      assert.equal((await s().notifications.listWindows(org.id, {}, 2)).length, 2);
      assert.deepEqual(await s().notifications.listWindows(other.id, {}, 10), []);
      assert.equal(await s().notifications.deleteWindow(other.id, site.id), false);
      assert.equal(await s().notifications.deleteWindow(org.id, site.id), true);
      assert.equal(await s().notifications.deleteWindow(org.id, site.id), false);
      assert.equal(await s().notifications.getWindow(org.id, site.id), undefined);
    });
  });
}
