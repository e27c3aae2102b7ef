/**
 * Pipelining (decision record 0018): a connection keeps reading while earlier PUBLISHes are
 * stored, within a bounded window; acknowledgements leave in the order received.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawClient } from './raw-client.js';
import { sleep, startBroker, until } from './helpers.js';
import { acks, batchStore, burst, codeOf, hooksWith, idOf } from './pipelining-helpers.js';
import type { MqttHooks } from '../../src/mqtt/index.js';

for (const version of [4, 5] as const) {
  const v = version === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
  describe(`pipelining over ${v}`, () => {
    it('N QoS 1 sent without waiting: all stored in order, PUBACKs in the order received [MQTT-4.6.0-2]', async () => {
      const store = batchStore();
      const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `pl${version}`, version);
        const n = 500;
        burst(c, n, 1);
        const got = await acks(c, 'puback', n);
        assert.deepEqual(
          got.map(idOf),
          Array.from({ length: n }, (_, i) => i + 1),
        );
        assert.ok(got.every((p) => codeOf(p) < 0x80));
        // Stored, and handed to the store in the order received.
        assert.equal(store.stored.length, n);
        assert.deepEqual(
          store.order,
          Array.from({ length: n }, (_, i) => `m${i + 1}`),
        );
        // Pipelined: more than one message was in the store at once.
        assert.ok(store.maxWaiting > 1, `max in store at once: ${store.maxWaiting}`);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('a stalled store stops the reading at the window bound', async () => {
      const store = batchStore();
      store.hold();
      const limits = { maxMessagesPerSecond: 0, inboundWindow: 16, receiveMaximum: 8 };
      const b = await startBroker({ hooks: hooksWith(store), limits });
      try {
        const c = await RawClient.connect(b.port, `stall${version}`, version);
        burst(c, 200, 1);
        await sleep(150);
        // v5: our Receive Maximum bounds QoS 1/2 in flight; v3.1.1: the configured window.
        const bound = version === 5 ? 8 : 16;
        assert.equal(store.waiting, bound);
        assert.equal(b.engine.stats().messagesIn, bound);
        store.release();
        const got = await acks(c, 'puback', 200);
        assert.deepEqual(
          got.map(idOf),
          Array.from({ length: 200 }, (_, i) => i + 1),
        );
        assert.equal(store.stored.length, 200);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('PINGREQ behind PUBLISHes being stored is answered at once', async () => {
      const store = batchStore();
      store.hold();
      const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `ping${version}`, version);
        burst(c, 3, 1);
        c.send({ cmd: 'pingreq' });
        await c.next('pingresp', 1000);
        assert.equal(store.waiting, 3);
        store.release();
        await acks(c, 'puback', 3);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('QoS 0 is stored without holding the connection, and bounded by the window', async () => {
      const store = batchStore();
      store.hold();
      const b = await startBroker({
        hooks: hooksWith(store),
        limits: { maxMessagesPerSecond: 0, inboundWindow: 32 },
      });
      try {
        const c = await RawClient.connect(b.port, `q0${version}`, version);
        burst(c, 100, 0);
        await until(() => store.waiting === 32, 2000, 'the window to fill');
        await sleep(50);
        assert.equal(store.waiting, 32);
        store.release();
        await until(() => store.stored.length === 100, 3000, 'all QoS 0 stored');
        assert.equal(new Set(store.stored).size, 100);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('storage backpressure stops reading at once and resumes when it settles, losing nothing', async () => {
      const store = batchStore();
      let behind: { promise: Promise<void>; resolve: () => void } | undefined;
      const hooks: MqttHooks = {
        ...hooksWith(store),
        backpressure: () => behind?.promise,
      };
      const b = await startBroker({ hooks, limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `bp${version}`, version);
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        behind = { promise, resolve };
        burst(c, 50, 0);
        burst(c, 50, 1, 51);
        await until(() => b.engine.stats().messagesIn === 1, 2000, 'the first message');
        await sleep(100);
        // One message was handed over, then the connection stopped reading: not refused.
        assert.equal(b.engine.stats().messagesIn, 1);
        assert.equal(b.engine.stats().backpressured, 1);
        behind = undefined;
        resolve();
        const got = await acks(c, 'puback', 50);
        assert.deepEqual(
          got.map(idOf),
          Array.from({ length: 50 }, (_, i) => i + 51),
        );
        await until(() => store.stored.length === 100, 3000, 'all stored');
        assert.equal(b.engine.stats().dropped.on_publish_refused ?? 0, 0);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('a connection held back by storage is not cut for keep-alive', async () => {
      const store = batchStore();
      let resolve!: () => void;
      let held: Promise<void> | undefined = new Promise<void>((r) => (resolve = r));
      const hooks: MqttHooks = { ...hooksWith(store), backpressure: () => held };
      const b = await startBroker({ hooks, limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `bpk${version}`, version, { keepalive: 1 });
        burst(c, 2, 1);
        // 1.5 × keep-alive passes while the hub does not read: the client is not the silent one.
        await sleep(2000);
        assert.equal(c.closed, false);
        held = undefined;
        resolve();
        await acks(c, 'puback', 2);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('a refused store answers that message alone, without reordering the others', async () => {
      const store = batchStore();
      store.refuse.add('m5');
      const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `rf${version}`, version);
        burst(c, 10, 1);
        if (version === 5) {
          const got = await acks(c, 'puback', 10);
          assert.deepEqual(got.map(idOf), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          // Success is 0 or 0x10 (no matching subscribers): anything below 0x80.
          const codes = got.map((p) => (codeOf(p) < 0x80 ? 0 : codeOf(p)));
          assert.deepEqual(codes, [0, 0, 0, 0, 0x97, 0, 0, 0, 0, 0]);
        } else {
          // v3.1.1 has no negative PUBACK: 1–4 are acknowledged, then the connection closes with
          // 5 unacknowledged (the client resends it), as documented in decision record 0014.
          const got = await acks(c, 'puback', 4);
          assert.deepEqual(got.map(idOf), [1, 2, 3, 4]);
          await c.waitClosed();
          assert.equal(c.packets.filter((p) => p.cmd === 'puback').length, 0);
        }
        assert.ok(!store.stored.includes('m5'));
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('a refused QoS 0 is counted, not silently lost', async () => {
      const store = batchStore();
      store.refuse.add('m2');
      const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `rq0${version}`, version);
        burst(c, 3, 0);
        await until(() => store.stored.length === 2, 2000, 'two stored');
        await until(() => (b.engine.stats().dropped.on_publish_refused ?? 0) === 1);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    it('QoS 2: PUBREC after the store, a duplicate while pending is not stored twice, PUBREL/PUBCOMP', async () => {
      const store = batchStore();
      store.hold();
      const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `q2${version}`, version);
        c.send({ cmd: 'publish', topic: 'p/t', payload: 'm1', qos: 1, messageId: 1 });
        c.send({ cmd: 'publish', topic: 'p/t', payload: 'x', qos: 2, messageId: 7 });
        c.send({ cmd: 'publish', topic: 'p/t', payload: 'x', qos: 2, messageId: 7, dup: true });
        c.send({ cmd: 'publish', topic: 'p/t', payload: 'm3', qos: 1, messageId: 3 });
        await sleep(100);
        assert.equal(c.packets.length, 0); // nothing acknowledged before it is stored
        store.release();
        const got = [await c.next(), await c.next(), await c.next(), await c.next()];
        assert.deepEqual(
          got.map((p) => `${p.cmd}:${idOf(p)}`),
          ['puback:1', 'pubrec:7', 'pubrec:7', 'puback:3'],
        );
        assert.ok(got.every((p) => codeOf(p) < 0x80));
        assert.deepEqual(store.stored.filter((s) => s === 'x').length, 1);
        c.send({ cmd: 'pubrel', messageId: 7 });
        assert.equal(idOf(await c.next('pubcomp')), 7);
        c.destroy();
      } finally {
        await b.close();
      }
    });

    for (const disconnect of [true, false]) {
      const how = disconnect ? 'DISCONNECT and FIN' : 'FIN alone';
      it(`${how} right after a burst: every stored message is acknowledged before the close; the will ${disconnect ? 'is discarded' : 'follows'}`, async () => {
        const store = batchStore(20);
        const b = await startBroker({
          hooks: hooksWith(store),
          limits: { maxMessagesPerSecond: 0 },
        });
        try {
          const c = await RawClient.connect(b.port, `dc${version}${disconnect}`, version, {
            will: { topic: 'p/will', payload: Buffer.from('gone'), qos: 0, retain: false },
          });
          burst(c, 50, 1);
          if (disconnect) c.send({ cmd: 'disconnect' });
          c.socket.end(); // half-close: nothing more from the client, it still reads
          await c.waitClosed();
          const got = c.packets.filter((p) => p.cmd === 'puback');
          assert.deepEqual(
            got.map(idOf),
            Array.from({ length: 50 }, (_, i) => i + 1),
          );
          await until(() => store.stored.length >= 50);
          await sleep(50);
          // [MQTT-3.1.2-10] A DISCONNECT discards the will; a connection lost without one
          // publishes it ([MQTT-3.1.2-8]) — after the messages sent before it.
          assert.deepEqual(store.order.slice(50), disconnect ? [] : ['gone']);
          assert.equal(b.engine.stats().dropped.closed_before_ack ?? 0, 0);
        } finally {
          await b.close();
        }
      });
    }

    it('SUBSCRIBE after PUBLISH acts after it: SUBACK follows the PUBACKs, no copy of the earlier message', async () => {
      const store = batchStore(20);
      const b = await startBroker({ hooks: hooksWith(store), limits: { maxMessagesPerSecond: 0 } });
      try {
        const c = await RawClient.connect(b.port, `sb${version}`, version);
        burst(c, 5, 1);
        c.send({ cmd: 'subscribe', messageId: 99, subscriptions: [{ topic: 'p/t', qos: 1 }] });
        c.send({ cmd: 'publish', topic: 'p/t', payload: 'after', qos: 1, messageId: 6 });
        const got: string[] = [];
        for (let i = 0; i < 8; i++) {
          const p = await c.next();
          got.push(p.cmd === 'publish' ? `publish:${String(p.payload)}` : `${p.cmd}:${idOf(p)}`);
        }
        assert.deepEqual(got.slice(0, 6), [
          'puback:1',
          'puback:2',
          'puback:3',
          'puback:4',
          'puback:5',
          'suback:99',
        ]);
        // The one published after the SUBSCRIBE comes back; none of the five before it.
        assert.deepEqual(got.slice(6).sort(), ['puback:6', 'publish:after']);
        c.destroy();
      } finally {
        await b.close();
      }
    });
  });
}
