/**
 * Pipelining (decision record 0018): a connection keeps reading while earlier PUBLISHes are
 * stored, within a bounded window; acknowledgements leave in the order received.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPubackPacket, IPubrecPacket, Packet } from 'mqtt-packet';
import { MqttRefusal, openModeHooks } from '../../src/mqtt/index.js';
import type { InboundPublish, MqttHooks } from '../../src/mqtt/index.js';
import { collect, connect, sleep, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

/**
 * A store behind onPublish that answers in batches, like the hub's writer: every `everyMs` the
 * waiting messages settle — in a shuffled order, so a connection that acknowledged as stores
 * finish would acknowledge out of order. `hold()` stops it (a stalled database).
 */
function batchStore(everyMs = 3) {
  const stored: string[] = [];
  const order: string[] = [];
  let waiting: Array<{ payload: string; done: (err?: Error) => void }> = [];
  let held = false;
  let timer: NodeJS.Timeout | null = null;
  let maxWaiting = 0;
  const refuse = new Set<string>();
  const flush = (): void => {
    timer = null;
    if (held) return;
    const batch = waiting;
    waiting = [];
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [batch[i], batch[j]] = [batch[j]!, batch[i]!];
    }
    for (const w of batch) {
      if (refuse.has(w.payload)) w.done(new MqttRefusal(0x97, 'quota'));
      else {
        stored.push(w.payload);
        w.done();
      }
    }
  };
  const onPublish = (_c: unknown, m: InboundPublish): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      order.push(Buffer.from(m.payload).toString());
      waiting.push({
        payload: Buffer.from(m.payload).toString(),
        done: (err) => (err ? reject(err) : resolve()),
      });
      maxWaiting = Math.max(maxWaiting, waiting.length);
      timer ??= setTimeout(flush, everyMs);
    });
  return {
    stored,
    refuse,
    onPublish,
    /** Messages handed to the store and not yet settled. */
    get waiting() {
      return waiting.length;
    },
    get maxWaiting() {
      return maxWaiting;
    },
    /** Order in which messages reached the store. */
    order,
    hold() {
      held = true;
    },
    release() {
      held = false;
      timer ??= setTimeout(flush, 0);
    },
  };
}

const hooksWith = (store: ReturnType<typeof batchStore>): MqttHooks => ({
  ...openModeHooks(),
  onPublish: store.onPublish,
});

const idOf = (p: Packet): number => (p as IPubackPacket).messageId!;
const codeOf = (p: Packet): number => (p as IPubackPacket).reasonCode ?? 0;

/** Publish `n` messages on one socket without waiting; payloads are `m{i}`. */
function burst(c: RawClient, n: number, qos: 0 | 1 | 2, first = 1): void {
  for (let i = first; i < first + n; i++) {
    c.send({ cmd: 'publish', topic: 'p/t', payload: `m${i}`, qos, messageId: qos > 0 ? i : 0 });
  }
}

async function acks(c: RawClient, cmd: string, n: number, ms = 5000): Promise<Packet[]> {
  const out: Packet[] = [];
  while (out.length < n) out.push(await c.next(cmd, ms));
  return out;
}

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
