/**
 * Detection in a two-node cluster on PostgreSQL and NATS (decision 0034): every node counts every
 * node's edge events, so key guessing spread over both nodes is one brute force — one alert and
 * one `detect.fired` across the cluster — and a device's learned baseline follows it to the other
 * node through the shared database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainEvent } from '@bulwark/core';
import { requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startClusterPair, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';
import { waitForAlert } from './detect-helpers.js';

const skip = (await requirePostgres()) || (await requireNats());
const schemas = withPostgresSchemas();

describe('detection in a two-node cluster', { skip, timeout: 90_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  const seenOnA: DomainEvent[] = [];

  before(async () => {
    ({ a, b } = await startClusterPair(schemas, 'detect'));
    s = await setupOwner(b);
    a.hub.services.events.listen((e) => seenOnA.push(e));
    channelId = (await s.api.channels.create({ name: 'data', persisted: false })).id;
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  const device = async (name: string) => {
    const d = await s.api.devices.create({ name, type: 'meter' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    return { id: d.id, key };
  };

  it('key guessing spread over both nodes is one brute force: one alert, one detect.fired', async () => {
    const victims = [await device('c1'), await device('c2'), await device('c3')];
    // Two wrong keys per device on each node: 12 failures, 6 on each node (under the threshold
    // of 10 on either alone).
    for (const node of [a, b])
      for (const v of victims)
        for (let i = 0; i < 2; i++)
          await assert.rejects(
            connectTls(node, { username: v.id, password: 'bwd_x', clientId: v.id }),
          );
    const alert = await waitForAlert(s.api, 'auth_bruteforce', null, 15_000);
    assert.ok((alert.evidence['observed'] as number) >= 10);
    await new Promise((r) => setTimeout(r, 1500));
    await a.hub.services.events.flush();
    await b.hub.services.events.flush();
    const fired = seenOnA.filter((e) => e.type === 'detect.fired');
    assert.equal(fired.length, 1, JSON.stringify(fired));
    const open = (await s.api.alerts.list({ state: 'open' })).items.filter(
      (x) => x.kind === 'auth_bruteforce',
    );
    assert.equal(open.length, 1);
  });

  it("a device's learned baseline follows it to the other node", async () => {
    const { key } = await s.owner.apiKeys.create({
      name: 'secops',
      permissions: ['audit:read', 'detect:manage', 'devices:read'],
    });
    await b.client(key).detect.updateRule('message_flood', { learningMinutes: 10 });
    const d = await device('mover');
    const creds = { username: d.id, password: d.key, clientId: d.id };
    const onA = await connectTls(a, creds);
    const engineA = a.hub.services.detect.engine;
    for (let w = 0; w < 12; w++) {
      await Promise.all(
        Array.from({ length: 6 }, () => publish(onA, `channels/${channelId}/messages`, 'x')),
      );
      a.clock.advance(60_000);
      b.clock.advance(60_000);
      await engineA.tick();
    }
    await engineA.persist();
    onA.end(true);
    const onB = b.client(key);
    const view = await onB.detect.device(d.id);
    assert.equal(view.tracked, false);
    const flood = view.metrics.find((m) => m.ruleId === 'message_flood')!;
    assert.equal(flood.baseline?.learned, true, JSON.stringify(flood));
    assert.equal(flood.baseline?.median, 6);
  });
});
