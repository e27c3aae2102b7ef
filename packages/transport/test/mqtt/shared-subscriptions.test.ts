/**
 * Shared subscriptions under the same ACL as plain ones (MQTT 5 §4.8.2): the engine hands
 * authorizeSubscribe the topic filter inside `$share/{group}/` and names the group, so a hook that
 * allows `allowed/…` allows `$share/g/allowed/…` too, on any listener, and denies the rest alike.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MqttHooks, SubscribeContext } from '../../src/mqtt/index.js';
import { collect, connect, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

/** Secured hooks: every client is known, and may use `allowed/…` only (no open mode). */
function aclHooks() {
  const asked: Array<{ filter: string } & SubscribeContext> = [];
  const allowed = (t: string): boolean => t.startsWith('allowed/');
  const hooks: MqttHooks = {
    authenticate: (info) => ({ id: `tenant-1/${info.clientId}`, principal: { tenant: 1 } }),
    authorizePublish: (_c, topic) => (allowed(topic) ? 0 : 0x87),
    authorizeSubscribe: (_c, filter, qos, ctx) => {
      asked.push({ filter, ...ctx });
      return allowed(filter) ? qos : 0x87;
    },
  };
  return { hooks, asked };
}

describe('shared subscriptions under the same ACL as plain ones', () => {
  it('the hook sees the filter inside the share and its group: allowed and denied alike', async () => {
    const { hooks, asked } = aclHooks();
    const b = await startBroker({ hooks });
    try {
      const c = await RawClient.connect(b.port, 'member', 5);
      c.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: '$share/workers/allowed/jobs/#', qos: 1 },
          { topic: '$share/workers/secret/#', qos: 1 },
          { topic: 'allowed/plain', qos: 1 },
          { topic: 'secret/plain', qos: 1 },
        ],
      });
      const ack = (await c.next('suback')) as { granted: number[] };
      assert.deepEqual(ack.granted, [1, 0x87, 1, 0x87]);
      assert.deepEqual(asked, [
        { filter: 'allowed/jobs/#', group: 'workers', cause: 'subscribe' },
        { filter: 'secret/#', group: 'workers', cause: 'subscribe' },
        { filter: 'allowed/plain', group: null, cause: 'subscribe' },
        { filter: 'secret/plain', group: null, cause: 'subscribe' },
      ]);
      assert.equal(b.engine.stats().subscriptions, 2);
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('members (v5 and v3.1.1 MQTT.js clients) share the messages round-robin on a secured engine', async () => {
    const { hooks } = aclHooks();
    const b = await startBroker({ hooks });
    try {
      const m1 = await connect(b.port, { clientId: 'w1', protocolVersion: 5 });
      const m2 = await connect(b.port, { clientId: 'w2', protocolVersion: 4 });
      const [g1, g2] = [collect(m1), collect(m2)];
      await m1.subscribeAsync('$share/workers/allowed/jobs/#', { qos: 1 });
      await m2.subscribeAsync('$share/workers/allowed/jobs/#', { qos: 1 });
      await assert.rejects(
        m1.subscribeAsync('$share/workers/secret/#', { qos: 1 }),
        /Subscribe error: Not authorized/,
      );
      const pub = await connect(b.port, { clientId: 'boss', protocolVersion: 5 });
      for (let i = 0; i < 10; i++) await pub.publishAsync('allowed/jobs/x', `${i}`, { qos: 1 });
      await until(() => g1.length + g2.length === 10, 3000, 'ten jobs');
      assert.equal(g1.length, 5);
      assert.equal(g2.length, 5);
      await Promise.all([m1.endAsync(), m2.endAsync(), pub.endAsync()]);
    } finally {
      await b.close();
    }
  });
});
