/**
 * The engine-wide inbound budget (`limits.inboundBudget`, issue 12): past it, connections stop
 * reading until the engine is back under three quarters of it — messages wait in the sockets, not
 * in the heap — and nothing is lost, reordered or refused for it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawClient } from './raw-client.js';
import { sleep, startBroker, until } from './helpers.js';
import { acks, batchStore, burst, hooksWith, idOf } from './pipelining-helpers.js';

describe('inbound budget across connections', () => {
  it('holds at most the budget (plus one read per connection), then finishes everything in order', async () => {
    const store = batchStore(5);
    store.hold();
    const budget = 40;
    const b = await startBroker({
      hooks: hooksWith(store),
      limits: { maxMessagesPerSecond: 0, inboundBudget: budget },
    });
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 4; i++) clients.push(await RawClient.connect(b.port, `ib${i}`, 5));
      for (const c of clients) burst(c, 100, 1);
      // The store is stalled: the engine reads until the budget is held, then stops.
      await until(() => b.engine.stats().inboundHeld >= budget, 3000, 'the budget held');
      await sleep(150);
      const held = b.engine.stats().inboundHeld;
      assert.ok(held <= budget + clients.length, `held ${held}`);
      assert.ok(b.engine.stats().messagesIn < 400, 'the rest waits in the sockets');
      assert.ok(b.engine.stats().overBudget >= 1);
      store.release();
      for (const c of clients) {
        const got = await acks(c, 'puback', 100, 10_000);
        assert.deepEqual(
          got.map(idOf),
          Array.from({ length: 100 }, (_, i) => i + 1),
        );
      }
      assert.equal(store.stored.length, 400);
      await until(() => b.engine.stats().inboundHeld === 0, 2000, 'the budget given back');
      assert.equal(b.engine.stats().dropped.on_publish_refused ?? 0, 0);
    } finally {
      for (const c of clients) c.destroy();
      await b.close();
    }
  });

  it('a connection that fails with messages in flight gives its share back at once', async () => {
    const store = batchStore(5);
    store.hold();
    const b = await startBroker({
      hooks: hooksWith(store),
      limits: { maxMessagesPerSecond: 0, inboundBudget: 100 },
    });
    try {
      const c = await RawClient.connect(b.port, 'ibfail', 5);
      burst(c, 30, 1);
      await until(() => b.engine.stats().inboundHeld === 30, 3000, 'thirty held');
      // Reserved packet type 0: a protocol error, the connection is cut with its window full.
      c.write(Buffer.from([0x00, 0x00]));
      await until(() => b.engine.stats().inboundHeld === 0, 3000, 'the share given back');
      // The stalled messages still finish later, without counting twice.
      store.release();
      await until(() => store.stored.length === 30, 3000, 'the thirty stored');
      assert.equal(b.engine.stats().inboundHeld, 0);
      const d = await RawClient.connect(b.port, 'ibnext', 5);
      burst(d, 5, 1);
      const got = await acks(d, 'puback', 5);
      assert.deepEqual(got.map(idOf), [1, 2, 3, 4, 5]);
      assert.equal(b.engine.stats().inboundHeld, 0);
      d.destroy();
    } finally {
      await b.close();
    }
  });
});
