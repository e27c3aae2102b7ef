/**
 * Pipelining (decision record 0018) under access changes — a cut or a take-over mid-window — and
 * with MQTT.js clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPubrecPacket } from 'mqtt-packet';
import { openModeHooks } from '../../src/mqtt/index.js';
import type { MqttHooks } from '../../src/mqtt/index.js';
import { collect, connect, sleep, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';
import { batchStore, burst, hooksWith } from './pipelining-helpers.js';

describe('pipelining and access changes', () => {
  it('a connection cut mid-window (a revoked credential) hands nothing more to the store', async () => {
    const store = batchStore();
    store.hold();
    let authorized = 0;
    const hooks: MqttHooks = {
      ...openModeHooks(),
      // Slow authorization: most of the burst is still being authorized when the cut comes.
      authorizePublish: async () => {
        await sleep(5 + authorized++);
        return 0;
      },
      onPublish: store.onPublish,
    };
    const b = await startBroker({ hooks, limits: { maxMessagesPerSecond: 0 } });
    try {
      const c = await RawClient.connect(b.port, 'revoked', 5);
      burst(c, 50, 1);
      await until(() => store.waiting >= 3, 2000, 'some messages in the store');
      assert.equal(
        b.engine.disconnectWhere((id) => id.id === 'revoked', 0x98),
        1,
      );
      const handed = store.waiting;
      assert.ok(handed < 50, `handed to the store before the cut: ${handed}`);
      await sleep(200);
      assert.equal(store.waiting, handed, 'nothing handed on after the cut');
      // Messages whose acknowledgement can no longer be sent are accounted for.
      assert.ok((b.engine.stats().dropped.closed_before_ack ?? 0) >= handed);
      store.release();
      await until(() => store.stored.length === handed);
      // Nothing acknowledged after the cut.
      assert.equal(c.packets.filter((p) => p.cmd === 'puback').length, 0);
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('a take-over mid-window does not leave the old connection’s QoS 2 ids in the session', async () => {
    const store = batchStore();
    store.hold();
    const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
    try {
      const old = await RawClient.connect(b.port, 'same', 5, {
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      old.send({ cmd: 'publish', topic: 'p/t', payload: 'old', qos: 2, messageId: 9 });
      await until(() => store.waiting === 1);
      const next = await RawClient.connect(b.port, 'same', 5, {
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      await old.waitClosed();
      store.release();
      await until(() => store.stored.length === 1);
      // The newcomer's own PUBLISH with the same id is new, not a duplicate of the old one.
      next.send({ cmd: 'publish', topic: 'p/t', payload: 'new', qos: 2, messageId: 9 });
      const rec = (await next.next('pubrec')) as IPubrecPacket;
      assert.equal(rec.messageId, 9);
      assert.deepEqual(store.stored, ['old', 'new']);
      next.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('pipelining with MQTT.js', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 5 ? '5' : '3.1.1'}: 300 concurrent QoS 1 publishes all resolve and are stored`, async () => {
      const store = batchStore();
      const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
      try {
        const sub = await connect(b.port, {
          clientId: `js-sub${version}`,
          protocolVersion: version,
        });
        const seen = collect(sub);
        await sub.subscribeAsync('p/#', { qos: 1 });
        const pub = await connect(b.port, {
          clientId: `js-pub${version}`,
          protocolVersion: version,
        });
        const n = 300;
        await Promise.all(
          Array.from({ length: n }, (_, i) => pub.publishAsync('p/t', `m${i}`, { qos: 1 })),
        );
        assert.equal(store.stored.length, n);
        await until(() => seen.length === n, 3000, 'all delivered');
        // Routed in the order published ([MQTT-4.6.0-6]).
        assert.deepEqual(
          seen.map((s) => s.payload),
          Array.from({ length: n }, (_, i) => `m${i}`),
        );
        await pub.endAsync();
        await sub.endAsync();
      } finally {
        await b.close();
      }
    });
  }
});
