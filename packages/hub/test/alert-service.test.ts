/**
 * AlertService on real SQLite storage with a fake clock (decision 0030): deduplication by key,
 * the cool-down after a resolution, the lifecycle's compare-and-set, mute bounds, assignees, and
 * the events each change emits.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AlertService,
  createMemoryEvents,
  newId,
  type Device,
  type DomainEvent,
  type Storage,
} from '@bulwark/core';
import { openSqliteStorage } from '@bulwark/store-sqlite';
import { FakeClock, rejectsWith } from './helpers.js';

describe('AlertService', () => {
  let storage: Storage;
  const clock = new FakeClock(1_750_000_000_000);
  const events = createMemoryEvents();
  const seen: DomainEvent[] = [];
  let alerts: AlertService;
  let orgId: string;
  let deviceId: string;

  before(async () => {
    storage = await openSqliteStorage({ path: ':memory:' });
    events.listen((e) => seen.push(e));
    alerts = new AlertService({ storage, clock, events, config: { cooldownMs: 10 * 60_000 } });
    orgId = newId();
    await storage.organizations.create({ id: orgId, name: 'Acme', createdAt: clock.now() });
    deviceId = newId();
    await storage.devices.create({
      id: deviceId,
      orgId,
      name: 'press-1',
      type: 'press',
      firmwareType: null,
      firmwareVersion: null,
      tags: [],
      locationId: null,
      mode: 'controlled',
      state: 'active',
      lastSeenAt: null,
      createdAt: clock.now(),
      updatedAt: clock.now(),
    } satisfies Device);
  });
  after(async () => storage.close());

  const types = async () => {
    await events.flush();
    return seen.splice(0).map((e) => e.type);
  };

  it('a flapping source is one alert: repeats count, a resolution then a recurrence within the cool-down reopens it', async () => {
    const first = await alerts.raise({
      orgId,
      deviceId,
      kind: 'message_flood',
      evidence: { observed: 900 },
    });
    assert.equal(first.outcome, 'opened');
    assert.equal(first.alert.severity, 'medium', "the kind's default");
    for (let i = 0; i < 99; i++) {
      clock.advance(1_000);
      const r = await alerts.raise({
        orgId,
        deviceId,
        kind: 'message_flood',
        evidence: { observed: 900 + i },
      });
      assert.equal(r.outcome, 'repeated');
    }
    const now = await alerts.get(orgId, first.alert.id);
    assert.equal(now.occurrences, 100);
    assert.equal(now.lastSeenAt, clock.now());
    assert.deepEqual(now.evidence, { observed: 998 });
    assert.deepEqual(await types(), ['alert.opened'], 'one event for a hundred occurrences');

    assert.equal(await alerts.resolve(orgId, deviceId, 'message_flood'), 1);
    clock.advance(9 * 60_000);
    const again = await alerts.raise({ orgId, deviceId, kind: 'message_flood' });
    assert.equal(again.outcome, 'reopened');
    assert.equal(again.alert.id, first.alert.id);
    assert.equal(again.alert.occurrences, 101);
    assert.equal(await alerts.resolve(orgId, deviceId, 'message_flood'), 1);
    clock.advance(10 * 60_000 + 1);
    const fresh = await alerts.raise({ orgId, deviceId, kind: 'message_flood' });
    assert.equal(fresh.outcome, 'opened', 'after the cool-down: a new alert');
    assert.notEqual(fresh.alert.id, first.alert.id);
    assert.deepEqual(await types(), [
      'alert.resolved',
      'alert.reopened',
      'alert.resolved',
      'alert.opened',
    ]);
  });

  it('fleet-wide alerts by key; bad kinds and oversized evidence are refused and change nothing', async () => {
    const a = await alerts.raise({
      orgId,
      kind: 'auth_bruteforce',
      dedupKey: 'auth_bruteforce:198.51.100.7',
      groupKey: 'auth_bruteforce',
      evidence: { source: '198.51.100.7', failures: 50, window: 60 },
    });
    assert.equal(a.alert.deviceId, null);
    assert.equal(a.alert.severity, 'high');
    const b = await alerts.raise({
      orgId,
      kind: 'auth_bruteforce',
      dedupKey: 'auth_bruteforce:203.0.113.1',
    });
    assert.notEqual(b.alert.id, a.alert.id, 'another source, another alert');
    const before = (await alerts.list(orgId, {}, { limit: 500 })).items.length;
    await rejectsWith(alerts.raise({ orgId, kind: 'Bad Kind' }), 'validation_failed');
    await rejectsWith(
      alerts.raise({ orgId, kind: 'telemetry_rule', evidence: { blob: 'x'.repeat(20_000) } }),
      'validation_failed',
    );
    assert.equal((await alerts.list(orgId, {}, { limit: 500 })).items.length, before);
    await types();
  });

  it('acknowledge → resolve as compare-and-sets; assign only to members; mute within bounds', async () => {
    const { alert } = await alerts.raise({
      orgId,
      deviceId,
      kind: 'new_listening_port',
      evidence: { port: 2323 },
    });
    const by = { type: 'user' as const, id: 'u1' };
    const acked = await alerts.acknowledge(orgId, alert.id, by);
    assert.equal(acked.state, 'acknowledged');
    assert.equal(acked.acknowledgedBy, 'user:u1');
    await rejectsWith(alerts.acknowledge(orgId, alert.id, by), 'alert_state_conflict');
    await rejectsWith(alerts.assign(orgId, alert.id, newId()), 'not_found');
    await rejectsWith(alerts.mute(orgId, alert.id, 31 * 86_400_000, null), 'validation_failed');
    const muted = await alerts.mute(orgId, alert.id, 60_000, 'maintenance');
    assert.equal(muted.mutedUntil, clock.now() + 60_000);
    assert.equal(muted.muteReason, 'maintenance');
    const c = await alerts.comment(orgId, alert.id, '  checking the port  ', by);
    assert.equal(c.body, 'checking the port');
    await rejectsWith(alerts.comment(orgId, alert.id, '   ', by), 'validation_failed');
    const done = await alerts.resolveById(orgId, alert.id, { type: 'api_key', id: 'k1' });
    assert.equal(done.resolvedBy, 'api_key:k1');
    await rejectsWith(alerts.resolveById(orgId, alert.id, by), 'alert_state_conflict');
    await rejectsWith(alerts.mute(orgId, alert.id, 60_000, null), 'alert_state_conflict');
    // Another organization: not found, whatever the verb.
    await rejectsWith(alerts.get(newId(), alert.id), 'not_found');
    await rejectsWith(alerts.acknowledge(newId(), alert.id, by), 'not_found');
    assert.deepEqual(await types(), [
      'alert.opened',
      'alert.acknowledged',
      'alert.changed',
      'alert.resolved',
    ]);
  });
});
