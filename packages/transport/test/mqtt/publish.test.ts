/** PUBLISH in both directions, retained messages, authorization, onPublish, injection, aliases. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MqttRefusal, openModeHooks } from '../../src/mqtt/index.js';
import type { ClientIdentity, MqttDenial } from '../../src/mqtt/index.js';
import { collect, connect, sleep, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

for (const version of [4, 5] as const) {
  describe(`PUBLISH over MQTT ${version === 5 ? '5' : '3.1.1'}`, () => {
    it('QoS 0, 1 and 2 go both ways at min(published, granted) QoS [MQTT-3.8.4-8]', async () => {
      const b = await startBroker();
      try {
        const sub = await connect(b.port, { clientId: `sub${version}`, protocolVersion: version });
        const got = collect(sub);
        await sub.subscribeAsync({ 'q/0': { qos: 0 }, 'q/1': { qos: 1 }, 'q/2': { qos: 2 } });
        const pub = await connect(b.port, { clientId: `pub${version}`, protocolVersion: version });
        for (const t of ['q/0', 'q/1', 'q/2']) {
          for (const qos of [0, 1, 2] as const) await pub.publishAsync(t, `${t}@${qos}`, { qos });
        }
        await until(() => got.length === 9);
        const qosOf = (p: string): number => got.find((g) => g.payload === p)!.qos;
        assert.equal(qosOf('q/0@2'), 0);
        assert.equal(qosOf('q/1@2'), 1);
        assert.equal(qosOf('q/2@1'), 1);
        assert.equal(qosOf('q/2@2'), 2);
        assert.equal(b.engine.stats().inflight, 0);
        await sub.endAsync();
        await pub.endAsync();
      } finally {
        await b.close();
      }
    });

    it('a retained message reaches later subscribers, with the retain flag; an empty payload clears it', async () => {
      const b = await startBroker();
      try {
        const pub = await connect(b.port, { clientId: 'rp', protocolVersion: version });
        await pub.publishAsync('r/a', 'kept', { qos: 1, retain: true });
        const s1 = await connect(b.port, { clientId: 's1', protocolVersion: version });
        const g1 = collect(s1);
        await s1.subscribeAsync('r/+', { qos: 1 });
        await until(() => g1.length === 1);
        assert.equal(g1[0]!.payload, 'kept');
        assert.equal(g1[0]!.retain, true); // [MQTT-3.3.1-8]
        // Delivered to an existing subscription: retain 0 ([MQTT-3.3.1-9] / no Retain As Published).
        await pub.publishAsync('r/a', 'live', { qos: 1, retain: true });
        await until(() => g1.length === 2);
        assert.equal(g1[1]!.retain, false);
        await pub.publishAsync('r/a', '', { qos: 1, retain: true }); // [MQTT-3.3.1-6]
        const s2 = await connect(b.port, { clientId: 's2', protocolVersion: version });
        const g2 = collect(s2);
        await s2.subscribeAsync('r/#', { qos: 1 });
        await sleep(100);
        assert.equal(g2.length, 0);
        await Promise.all([pub.endAsync(), s1.endAsync(), s2.endAsync()]);
      } finally {
        await b.close();
      }
    });

    it('publish() injects a message from the hub to local subscribers', async () => {
      const b = await startBroker();
      try {
        const sub = await connect(b.port, { clientId: 'inj', protocolVersion: version });
        const got = collect(sub);
        await sub.subscribeAsync('hub/#', { qos: 1 });
        b.engine.publish({
          topic: 'hub/x',
          payload: new TextEncoder().encode('from-bus'),
          qos: 1,
          properties: { contentType: 'text/plain', userProperties: { a: 'b' } },
        });
        await until(() => got.length === 1);
        assert.equal(got[0]!.payload, 'from-bus');
        assert.equal(got[0]!.qos, 1);
        if (version === 5) {
          const props = got[0]!.props as { contentType?: string; userProperties?: unknown };
          assert.equal(props.contentType, 'text/plain');
          assert.deepEqual({ ...(props.userProperties as object) }, { a: 'b' });
        }
        await sub.endAsync();
      } finally {
        await b.close();
      }
    });
  });
}

describe('PUBLISH authorization', () => {
  const hooks = () => {
    const denials: MqttDenial[] = [];
    return {
      denials,
      opts: {
        hooks: openModeHooks(),
        onDenied: (d: MqttDenial) => denials.push(d),
      },
    };
  };

  it('v5: a denied QoS 1/2 publish gets PUBACK/PUBREC 0x87, QoS 0 is dropped; all counted', async () => {
    const h = hooks();
    const b = await startBroker(h.opts);
    try {
      const c = await RawClient.connect(b.port, 'deny5', 5);
      c.send({ cmd: 'publish', topic: 'channels/x/messages', payload: 'a', qos: 1, messageId: 1 });
      assert.equal(((await c.next('puback')) as { reasonCode?: number }).reasonCode, 0x87);
      c.send({ cmd: 'publish', topic: '$devices/d/twin', payload: 'a', qos: 2, messageId: 2 });
      assert.equal(((await c.next('pubrec')) as { reasonCode?: number }).reasonCode, 0x87);
      c.send({ cmd: 'publish', topic: 'channels/x/messages', payload: 'a', qos: 0 });
      await until(() => h.denials.length === 3);
      assert.equal(b.engine.stats().denied.publish, 3);
      assert.equal(h.denials[0]!.client.id, 'deny5');
      assert.equal(c.closed, false);
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('v3.1.1: a denied publish is acknowledged normally and discarded (the [MQTT-3.3.5-2] choice)', async () => {
    const h = hooks();
    const b = await startBroker(h.opts);
    try {
      const spy = await connect(b.port, { clientId: 'spy' });
      const got = collect(spy);
      await spy.subscribeAsync('#', { qos: 1 });
      const c = await RawClient.connect(b.port, 'deny4', 4);
      c.send({ cmd: 'publish', topic: 'channels/x/messages', payload: 'a', qos: 1, messageId: 7 });
      const ack = (await c.next('puback')) as { messageId?: number };
      assert.equal(ack.messageId, 7);
      await sleep(50);
      assert.equal(got.length, 0);
      assert.equal(h.denials.length, 1);
      c.destroy();
      await spy.endAsync();
    } finally {
      await b.close();
    }
  });

  it('a denied subscription: SUBACK 0x87 (v5) / 0x80 (v3.1.1)', async () => {
    const h = hooks();
    const b = await startBroker(h.opts);
    try {
      const c5 = await RawClient.connect(b.port, 'sd5', 5);
      c5.send({
        cmd: 'subscribe',
        messageId: 2,
        subscriptions: [
          { topic: 'ok/#', qos: 1 },
          { topic: 'channels/#', qos: 1 },
        ],
      });
      assert.deepEqual(((await c5.next('suback')) as { granted: number[] }).granted, [1, 0x87]);
      const c4 = await RawClient.connect(b.port, 'sd4', 4);
      c4.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: '$devices/#', qos: 1 }] });
      assert.deepEqual(((await c4.next('suback')) as { granted: number[] }).granted, [0x80]);
      assert.equal(b.engine.stats().denied.subscribe, 2);
      c5.destroy();
      c4.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('onPublish (the durability hook)', () => {
  it('is awaited before PUBACK; MqttRefusal becomes the reason code; false keeps it local-route-free', async () => {
    const seen: string[] = [];
    const b = await startBroker({
      hooks: {
        ...openModeHooks(),
        onPublish: async (_c: ClientIdentity, m) => {
          await sleep(20);
          seen.push(m.topic);
          if (m.topic === 'bad') throw new MqttRefusal(0x99, 'payload format invalid');
          if (m.topic === 'hub-routes') return false;
          return undefined;
        },
      },
    });
    try {
      const sub = await connect(b.port, { clientId: 'ops', protocolVersion: 5 });
      const got = collect(sub);
      await sub.subscribeAsync('#', { qos: 1 });
      const c = await RawClient.connect(b.port, 'opp', 5);
      const t0 = Date.now();
      c.send({ cmd: 'publish', topic: 'good', payload: 'x', qos: 1, messageId: 1 });
      assert.equal(((await c.next('puback')) as { reasonCode?: number }).reasonCode ?? 0, 0);
      assert.ok(Date.now() - t0 >= 15);
      c.send({ cmd: 'publish', topic: 'bad', payload: 'x', qos: 1, messageId: 2 });
      assert.equal(((await c.next('puback')) as { reasonCode?: number }).reasonCode, 0x99);
      c.send({ cmd: 'publish', topic: 'hub-routes', payload: 'x', qos: 1, messageId: 3 });
      await c.next('puback');
      await sleep(50);
      assert.deepEqual(
        got.map((g) => g.topic),
        ['good'],
      );
      assert.deepEqual(seen, ['good', 'bad', 'hub-routes']);
      c.destroy();
      await sub.endAsync();
    } finally {
      await b.close();
    }
  });
});

describe('Topic aliases (MQTT 5 §3.3.2.3.4)', () => {
  it('an inbound alias is set by a topic + alias and used by an empty topic', async () => {
    const b = await startBroker();
    try {
      const sub = await connect(b.port, { clientId: 'as', protocolVersion: 5 });
      const got = collect(sub);
      await sub.subscribeAsync('alias/#', { qos: 0 });
      const c = await RawClient.connect(b.port, 'ap', 5);
      c.send({
        cmd: 'publish',
        topic: 'alias/long/name',
        payload: '1',
        qos: 0,
        properties: { topicAlias: 3 },
      });
      c.send({ cmd: 'publish', topic: '', payload: '2', qos: 0, properties: { topicAlias: 3 } });
      await until(() => got.length === 2);
      assert.deepEqual(
        got.map((g) => g.topic),
        ['alias/long/name', 'alias/long/name'],
      );
      // [MQTT-3.3.2-9] An alias above our Topic Alias Maximum (10): DISCONNECT 0x94.
      c.send({
        cmd: 'publish',
        topic: 'alias/x',
        payload: '3',
        qos: 0,
        properties: { topicAlias: 11 },
      });
      assert.equal(((await c.next('disconnect')) as { reasonCode?: number }).reasonCode, 0x94);
      await sub.endAsync();
    } finally {
      await b.close();
    }
  });
});
