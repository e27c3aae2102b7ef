/** Default limits: every bound has a safe default, and each is enforced without breaking clients. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/mqtt/index.js';
import type { MqttLimits } from '../../src/mqtt/index.js';
import { connect, connackCode, startBroker } from './helpers.js';
import { RawClient } from './raw-client.js';

describe('default limits', () => {
  it('every limit has a finite, non-zero default except the per-address cap (off: NAT, proxies)', () => {
    const off = Object.entries(DEFAULT_LIMITS)
      .filter(([, v]) => v === 0)
      .map(([k]) => k);
    assert.deepEqual(off, ['maxConnectionsPerAddress']);
    for (const [k, v] of Object.entries(DEFAULT_LIMITS)) {
      assert.ok(Number.isFinite(v) && v >= 0, k);
    }
    // The ones the review found missing (0 meant "no limit").
    assert.equal(DEFAULT_LIMITS.maxMessagesPerSecond, 20_000); // decision record 0018
    assert.equal(DEFAULT_LIMITS.maxKeepAlive, 3600);
    assert.ok(DEFAULT_LIMITS.maxSessions > 0 && DEFAULT_LIMITS.maxRetainedBytes > 0);
  });

  it('limits that cannot be 0 are refused as 0, unknown limits too', () => {
    for (const k of ['maxPacketSize', 'receiveMaximum', 'maxSessions'] as Array<keyof MqttLimits>) {
      assert.throws(() => resolveLimits({ [k]: 0 }), new RegExp(`${k} must be positive`));
    }
    assert.throws(
      () => resolveLimits({ maxWhatever: 1 } as Partial<MqttLimits>),
      /unknown MQTT limit/,
    );
    assert.equal(resolveLimits({ maxMessagesPerSecond: 0 }).maxMessagesPerSecond, 0);
  });

  it('a keep-alive of 0 ("never") gets the default maximum as v5 Server Keep Alive [MQTT-3.2.2-21]', async () => {
    const b = await startBroker();
    try {
      const c = await RawClient.open(b.port, 5);
      c.send({ cmd: 'connect', clientId: 'ka', protocolVersion: 5, clean: true, keepalive: 0 });
      const ack = (await c.next('connack')) as { properties?: { serverKeepAlive?: number } };
      assert.equal(ack.properties?.serverKeepAlive, 3600);
      c.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('maxMessagesPerSecond throttles, it does not cut', () => {
  it('a burst above the rate is slowed to it; every message is acknowledged, the connection stays', async () => {
    const b = await startBroker({ limits: { maxMessagesPerSecond: 10 } });
    try {
      const c = await RawClient.connect(b.port, 'burst', 5);
      const t0 = Date.now();
      for (let i = 1; i <= 25; i++) {
        c.send({ cmd: 'publish', topic: 'burst', payload: `${i}`, qos: 1, messageId: i });
      }
      const ids: number[] = [];
      for (let i = 0; i < 25; i++)
        ids.push(((await c.next('puback', 5000)) as { messageId: number }).messageId);
      const elapsed = Date.now() - t0;
      assert.deepEqual(
        ids,
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      // 10 now, 10 in the next second, 5 in the one after.
      assert.ok(elapsed >= 1900, `took ${elapsed} ms`);
      assert.equal(c.closed, false);
      assert.ok(b.engine.stats().throttled >= 2);
      assert.equal(b.engine.stats().messagesIn, 25);
      c.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('connection and session bounds', () => {
  it('loopback is exempt from maxConnectionsPerAddress by default (simulator, benchmarks)', async () => {
    const b = await startBroker({ limits: { maxConnectionsPerAddress: 1 } });
    try {
      const cs = await Promise.all(
        ['l1', 'l2', 'l3'].map((clientId) => connect(b.port, { clientId })),
      );
      assert.equal(b.engine.stats().connections, 3);
      await Promise.all(cs.map((c) => c.endAsync()));
    } finally {
      await b.close();
    }
  });

  it('maxSessions: a new session beyond it gets 0x97 (v3.1.1: 3); an existing one still resumes', async () => {
    const b = await startBroker({ limits: { maxSessions: 2 } });
    try {
      const persistent = { clean: false, properties: { sessionExpiryInterval: 60 } };
      const s1 = await connect(b.port, { clientId: 's1', protocolVersion: 5, ...persistent });
      const s2 = await connect(b.port, { clientId: 's2', protocolVersion: 5 });
      assert.equal(await connackCode(b.port, { clientId: 's3', protocolVersion: 5 }), 0x97);
      assert.equal(await connackCode(b.port, { clientId: 's3', protocolVersion: 4 }), 3);
      await s1.endAsync(); // offline, still a session
      assert.equal(await connackCode(b.port, { clientId: 's3', protocolVersion: 5 }), 0x97);
      const back = await connect(b.port, { clientId: 's1', protocolVersion: 5, ...persistent });
      await Promise.all([back.endAsync(), s2.endAsync()]);
    } finally {
      await b.close();
    }
  });

  it('retained messages are bounded in bytes: a new one beyond the budget is not stored (counted)', async () => {
    const b = await startBroker({ limits: { maxRetainedBytes: 100 } });
    try {
      const c = await connect(b.port, { clientId: 'r', protocolVersion: 5 });
      await c.publishAsync('r/a', 'x'.repeat(60), { qos: 1, retain: true });
      await c.publishAsync('r/b', 'y'.repeat(60), { qos: 1, retain: true });
      assert.equal(b.engine.stats().retained, 1);
      assert.equal(b.engine.stats().dropped.retained_store_full, 1);
      // Replacing a retained message counts the difference; clearing frees its bytes.
      await c.publishAsync('r/a', '', { qos: 1, retain: true });
      await c.publishAsync('r/b', 'y'.repeat(60), { qos: 1, retain: true });
      assert.equal(b.engine.stats().retained, 1);
      await c.endAsync();
    } finally {
      await b.close();
    }
  });
});
