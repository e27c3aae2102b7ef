/**
 * Decision 0020 in the engine: a publish that reaches a persistent session, or sets a retained
 * message, is acknowledged only after the state store committed its batch; a batch that fails is
 * a refusal, never an acknowledgement; a publish that reaches only clean sessions does not wait.
 * The store here is gated by the test (the real adapters pass the contract suite in testkit).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttStateOp, MqttStateStore } from '@bulwark/core';
import { connect, sleep, startBroker, type Broker } from './helpers.js';

/** A state store whose batches complete when the test says. */
function gatedStore() {
  const ops: MqttStateOp[] = [];
  let release: (() => void) | null = null;
  let fail: Error | null = null;
  let open = true;
  const store: MqttStateStore = {
    async apply(_node, batch) {
      if (!open) await new Promise<void>((r) => (release = r));
      if (fail !== null) throw fail;
      ops.push(...batch);
      return { notOwned: [] };
    },
    retained: async () => [],
    load: async () => ({ ended: 0, sessions: [] }),
    take: async () => undefined,
    expire: async () => 0,
  };
  return {
    store,
    ops,
    hold() {
      open = false;
    },
    go() {
      open = true;
      release?.();
      release = null;
    },
    failWith(err: Error | null) {
      fail = err;
    },
  };
}

/** The PUBACK reason code of one QoS 1 publish, or 'none' if none came within `ms`. */
function pubackWithin(
  c: Awaited<ReturnType<typeof connect>>,
  topic: string,
  ms: number,
  retain = false,
): Promise<number | 'none'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('none'), ms);
    c.publish(topic, 'x', { qos: 1, retain }, (err, p) => {
      clearTimeout(timer);
      resolve(
        err
          ? ((err as { code?: number }).code ?? 0x80)
          : ((p as { reasonCode?: number } | undefined)?.reasonCode ?? 0),
      );
    });
  });
}

describe('MQTT state: acknowledged after stored', () => {
  const brokers: Broker[] = [];
  after(async () => {
    for (const b of brokers) await b.close();
  });
  const start = async () => {
    const g = gatedStore();
    const b = await startBroker({ state: { store: g.store, node: 'n1', shared: false } });
    brokers.push(b);
    await b.engine.restore();
    return { g, b };
  };

  it('PUBACK for a message queued to an offline persistent session waits for the commit', async () => {
    const { g, b } = await start();
    const sub = await connect(b.port, {
      clientId: 'keeper',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await sub.subscribeAsync('t/#', { qos: 1 });
    await sub.endAsync();
    await sleep(50);
    const pub = await connect(b.port, { clientId: 'pub', protocolVersion: 5 });
    g.hold();
    const pending = pubackWithin(pub, 't/1', 5000);
    const early = await Promise.race([pending, sleep(300).then(() => 'waiting' as const)]);
    assert.equal(early, 'waiting', 'no PUBACK before the batch committed');
    assert.ok(!g.ops.some((o) => o.op === 'enqueue'), 'not stored yet');
    g.go();
    assert.equal(await pending, 0);
    assert.ok(g.ops.some((o) => o.op === 'enqueue' && o.key === 'keeper'));
    // The same for a retained message: acknowledged once stored.
    g.hold();
    assert.equal(await pubackWithin(pub, 'r/1', 300, true), 'none');
    g.go();
    await sleep(100);
    assert.ok(g.ops.some((o) => o.op === 'retain' && o.record.topic === 'r/1'));
    await pub.endAsync();
  });

  it('a batch that fails is a refusal (v5 0x80), never a PUBACK', async () => {
    const { g, b } = await start();
    const sub = await connect(b.port, {
      clientId: 'keeper2',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await sub.subscribeAsync('f/#', { qos: 1 });
    const pub = await connect(b.port, { clientId: 'pub2', protocolVersion: 5 });
    g.failWith(new Error('disk full'));
    assert.equal(await pubackWithin(pub, 'f/1', 5000), 0x80);
    assert.equal(b.engine.stats().dropped['state_write_failed']! > 0, true);
    g.failWith(null);
    assert.equal(await pubackWithin(pub, 'f/2', 5000), 0);
    await pub.endAsync();
    await sub.endAsync();
  });

  it('a message that reaches only clean sessions is not held by the store', async () => {
    const { g, b } = await start();
    const sub = await connect(b.port, { clientId: 'clean', protocolVersion: 5 });
    await sub.subscribeAsync('c/#', { qos: 1 });
    const pub = await connect(b.port, { clientId: 'pub3', protocolVersion: 5 });
    g.hold();
    assert.equal(await pubackWithin(pub, 'c/1', 2000), 0);
    g.go();
    await pub.endAsync();
    await sub.endAsync();
  });
});
