/**
 * Decision 0020 in a cluster (two hub nodes sharing PostgreSQL and NATS): a retained message set
 * through one node is seen by a subscriber on the other, and a persistent session left on node A
 * is taken up on node B with what was queued for it; node A then lets its stale copy go.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startClusterPair, type TestHub } from './helpers.js';
import { connectCollecting, publishAcked } from './mqtt-state-helpers.js';

const skip = (await requirePostgres()) || (await requireNats());
const schemas = withPostgresSchemas();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MQTT state in a two-node cluster', { skip, timeout: 60_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  let channelId: string;
  const dev: Record<string, { id: string; key: string }> = {};
  const as = (t: TestHub, name: string, opts = {}) =>
    connectCollecting(t.hub.info.mqttPort, {
      ca: t.ca,
      clientId: dev[name]!.id,
      username: dev[name]!.id,
      password: dev[name]!.key,
      ...opts,
    });
  const topic = (sub: string) => `channels/${channelId}/messages/${sub}`;
  const persistent = { clean: false, properties: { sessionExpiryInterval: 600 } };
  const subscribe = (c: Awaited<ReturnType<typeof as>>, filter: string) =>
    new Promise<void>((r, j) => c.client.subscribe(filter, { qos: 1 }, (e) => (e ? j(e) : r())));

  before(async () => {
    ({ a, b } = await startClusterPair(schemas, 'mqtt-state'));
    const s = await setupOwner(b);
    channelId = (await s.api.call('createChannel', { body: { name: 'cluster-state' } })).id;
    for (const name of ['pub', 'roamer', 'reader']) {
      const d = await s.api.devices.create({ name, type: 'sensor' });
      const { key } = await s.api.devices.createKey(d.id);
      await s.api.channels.connect(channelId, {
        clientType: 'device',
        clientId: d.id,
        publish: name === 'pub',
        subscribe: name !== 'pub',
      });
      dev[name] = { id: d.id, key };
    }
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a retained message published through node A reaches a new subscriber on node B', async () => {
    const pub = await as(a, 'pub');
    await publishAcked(pub.client, topic('config'), 'v1', { qos: 1, retain: true });
    await pub.end();
    const reader = await as(b, 'reader');
    try {
      await subscribe(reader, topic('config'));
      await reader.until((g) => g.length >= 1, 5000);
      assert.deepEqual(reader.got, [{ topic: topic('config'), payload: 'v1', retain: true }]);
    } finally {
      await reader.end();
    }
  });

  it('a persistent session left on node A is resumed on node B with its queue; A lets go of it', async () => {
    const first = await as(a, 'roamer', persistent);
    await subscribe(first, topic('data/#'));
    await first.end();
    const pub = await as(a, 'pub');
    for (const n of [1, 2]) await publishAcked(pub.client, topic('data/x'), `m${n}`, { qos: 1 });

    const onB = await as(b, 'roamer', persistent);
    try {
      assert.equal(onB.sessionPresent, true);
      await onB.until((g) => g.length >= 2, 10_000);
      assert.deepEqual(
        onB.got.map((m) => m.payload),
        ['m1', 'm2'],
      );
      // Published on A again: B delivers it (from the bus); A's stale copy learns it lost the
      // session when its write is refused, and drops it.
      await publishAcked(pub.client, topic('data/x'), 'm3', { qos: 1 });
      await onB.until((g) => g.some((m) => m.payload === 'm3'), 10_000);
      // Only the publisher's session is left on A (bounded wait: 5 s).
      for (let i = 0; i < 50 && a.hub.brokers.engine.stats().sessions !== 1; i++) await sleep(100);
      assert.equal(a.hub.brokers.engine.stats().sessions, 1, 'node A dropped its stale copy');
    } finally {
      await pub.end();
      await onB.end();
    }
    // Back on A: A takes it up again from the store, nothing lost or repeated.
    const pub2 = await as(b, 'pub');
    await publishAcked(pub2.client, topic('data/x'), 'm4', { qos: 1 });
    await pub2.end();
    const backOnA = await as(a, 'roamer', persistent);
    try {
      assert.equal(backOnA.sessionPresent, true);
      await backOnA.until((g) => g.length >= 1, 10_000);
      await sleep(300);
      assert.deepEqual(
        backOnA.got.map((m) => m.payload),
        ['m4'],
      );
    } finally {
      await backOnA.end();
    }
  });
});
