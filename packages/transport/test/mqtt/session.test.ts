/** Sessions, wills, shared subscriptions, flow control and subscription limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collect, connect, sleep, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

describe('Persistent sessions', () => {
  for (const version of [4, 5] as const) {
    it(`v${version}: QoS 1/2 queued while offline arrive on reconnect; Session Present 1 [MQTT-3.2.2-2]`, async () => {
      const b = await startBroker();
      try {
        const opts = {
          clientId: `persist${version}`,
          protocolVersion: version,
          clean: false,
          ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
        };
        const s = await connect(b.port, opts);
        await s.subscribeAsync('p/#', { qos: 2 });
        await s.endAsync();
        const pub = await connect(b.port, { clientId: 'ppub', protocolVersion: version });
        for (let i = 0; i < 5; i++)
          await pub.publishAsync('p/x', `m${i}`, { qos: (1 + (i % 2)) as 1 | 2 });
        await pub.publishAsync('p/x', 'qos0-not-queued', { qos: 0 });
        assert.equal(b.engine.stats().queued, 5);
        const again = await RawClient.open(b.port, version);
        again.send({
          cmd: 'connect',
          clientId: opts.clientId,
          protocolVersion: version,
          clean: false,
          keepalive: 30,
          ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
        });
        const ack = (await again.next('connack')) as { sessionPresent: boolean };
        assert.equal(ack.sessionPresent, true);
        const payloads: string[] = [];
        for (let i = 0; i < 5; i++) {
          const p = (await again.next('publish')) as {
            payload: Buffer;
            qos: number;
            messageId?: number;
          };
          payloads.push(p.payload.toString());
          if (p.qos === 1) again.send({ cmd: 'puback', messageId: p.messageId });
          else again.send({ cmd: 'pubrec', messageId: p.messageId });
        }
        assert.deepEqual(payloads, ['m0', 'm1', 'm2', 'm3', 'm4']);
        again.destroy();
        await pub.endAsync();
      } finally {
        await b.close();
      }
    });
  }

  it('unacknowledged messages are resent with DUP on reconnect [MQTT-4.4.0-1]', async () => {
    const b = await startBroker();
    try {
      const s = await RawClient.connect(b.port, 'dup', 4, { clean: false });
      s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd', qos: 1 }] });
      await s.next('suback');
      const pub = await connect(b.port, { clientId: 'dpub' });
      await pub.publishAsync('d', 'once', { qos: 1 });
      const first = (await s.next('publish')) as { dup: boolean; messageId?: number };
      assert.equal(first.dup, false);
      s.destroy(); // no PUBACK
      await until(() => b.engine.stats().connections === 1);
      const s2 = await RawClient.connect(b.port, 'dup', 4, { clean: false });
      const again = (await s2.next('publish')) as {
        dup: boolean;
        messageId?: number;
        payload: Buffer;
      };
      assert.equal(again.dup, true);
      assert.equal(again.messageId, first.messageId);
      assert.equal(again.payload.toString(), 'once');
      s2.destroy();
      await pub.endAsync();
    } finally {
      await b.close();
    }
  });

  it('a clean start discards the old session [MQTT-3.1.2-4]', async () => {
    const b = await startBroker();
    try {
      const s = await connect(b.port, { clientId: 'cs', clean: false });
      await s.subscribeAsync('cs/#', { qos: 1 });
      await s.endAsync();
      const s2 = await RawClient.connect(b.port, 'cs', 4, { clean: true });
      assert.equal(b.engine.stats().subscriptions, 0);
      s2.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('Will messages', () => {
  it('is published when the connection drops without DISCONNECT [MQTT-3.1.2-8], not after a clean one', async () => {
    const b = await startBroker();
    try {
      const watcher = await connect(b.port, { clientId: 'watch' });
      const got = collect(watcher);
      await watcher.subscribeAsync('wills/#', { qos: 1 });
      const dying = await RawClient.connect(b.port, 'dying', 4, {
        will: { topic: 'wills/dying', payload: Buffer.from('gone'), qos: 1, retain: false },
      });
      dying.destroy();
      await until(() => got.length === 1);
      assert.equal(got[0]!.payload, 'gone');
      const polite = await RawClient.connect(b.port, 'polite', 4, {
        will: { topic: 'wills/polite', payload: Buffer.from('gone'), qos: 1, retain: false },
      });
      polite.send({ cmd: 'disconnect' });
      await polite.waitClosed();
      await sleep(100);
      assert.equal(got.length, 1); // [MQTT-3.14.4-3]
      await watcher.endAsync();
    } finally {
      await b.close();
    }
  });

  it('v5 Will Delay Interval: a reconnect within the delay cancels the will [MQTT-3.1.3-9]', async () => {
    const b = await startBroker();
    try {
      const watcher = await connect(b.port, { clientId: 'watch5', protocolVersion: 5 });
      const got = collect(watcher);
      await watcher.subscribeAsync('wd/#', { qos: 1 });
      const will = {
        topic: 'wd/x',
        payload: Buffer.from('late'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1 },
      };
      const props = { properties: { sessionExpiryInterval: 30 }, clean: false, will };
      const a = await RawClient.connect(b.port, 'delayed', 5, props);
      a.destroy();
      await sleep(300);
      const back = await RawClient.connect(b.port, 'delayed', 5, props);
      await sleep(1200);
      assert.equal(got.length, 0);
      back.destroy();
      await until(() => got.length === 1, 3000, 'will after delay');
      assert.equal(got[0]!.payload, 'late');
      await watcher.endAsync();
    } finally {
      await b.close();
    }
  });
});

describe('Shared subscriptions ($share/{group}/{filter}, MQTT 5 §4.8.2)', () => {
  it('each message goes to one member of the group, round-robin', async () => {
    const b = await startBroker();
    try {
      const m1 = await connect(b.port, { clientId: 'm1', protocolVersion: 5 });
      const m2 = await connect(b.port, { clientId: 'm2', protocolVersion: 5 });
      const plain = await connect(b.port, { clientId: 'plain', protocolVersion: 5 });
      const [g1, g2, gp] = [collect(m1), collect(m2), collect(plain)];
      await m1.subscribeAsync('$share/g/work/#', { qos: 1 });
      await m2.subscribeAsync('$share/g/work/#', { qos: 1 });
      await plain.subscribeAsync('work/#', { qos: 1 });
      const pub = await connect(b.port, { clientId: 'wp', protocolVersion: 5 });
      for (let i = 0; i < 10; i++) await pub.publishAsync('work/item', `${i}`, { qos: 1 });
      await until(() => g1.length + g2.length === 10 && gp.length === 10);
      assert.equal(g1.length, 5);
      assert.equal(g2.length, 5);
      await Promise.all([m1.endAsync(), m2.endAsync(), plain.endAsync(), pub.endAsync()]);
    } finally {
      await b.close();
    }
  });
});

describe('Flow control', () => {
  it("outbound QoS 1 honours the client's Receive Maximum [MQTT-3.3.4-7]", async () => {
    const b = await startBroker();
    try {
      const s = await RawClient.connect(b.port, 'rm', 5, { properties: { receiveMaximum: 2 } });
      s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fc', qos: 1 }] });
      await s.next('suback');
      const pub = await connect(b.port, { clientId: 'fcp', protocolVersion: 5 });
      for (let i = 0; i < 5; i++) await pub.publishAsync('fc', `${i}`, { qos: 1 });
      await sleep(100);
      assert.equal(s.packets.filter((p) => p.cmd === 'publish').length, 2);
      assert.equal(b.engine.stats().inflight, 2);
      assert.equal(b.engine.stats().queued, 3);
      const first = (await s.next('publish')) as { messageId?: number };
      s.send({ cmd: 'puback', messageId: first.messageId });
      await until(() => s.packets.filter((p) => p.cmd === 'publish').length === 2);
      assert.equal(b.engine.stats().queued, 2);
      s.destroy();
      await pub.endAsync();
    } finally {
      await b.close();
    }
  });

  it('inbound QoS 2 beyond our Receive Maximum: DISCONNECT 0x93 [MQTT-3.3.4-9]', async () => {
    const b = await startBroker({ limits: { receiveMaximum: 2 } });
    try {
      const c = await RawClient.connect(b.port, 'flood2', 5);
      for (let i = 1; i <= 3; i++)
        c.send({ cmd: 'publish', topic: 'x', payload: 'p', qos: 2, messageId: i });
      const d = (await c.next('disconnect')) as { reasonCode?: number };
      assert.equal(d.reasonCode, 0x93);
    } finally {
      await b.close();
    }
  });

  it('subscriptions per client are bounded: SUBACK 0x97 (v5)', async () => {
    const b = await startBroker({ limits: { maxSubscriptionsPerClient: 2 } });
    try {
      const c = await RawClient.connect(b.port, 'many', 5);
      c.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: ['a', 'b', 'c'].map((topic) => ({ topic, qos: 0 })),
      });
      assert.deepEqual(((await c.next('suback')) as { granted: number[] }).granted, [0, 0, 0x97]);
      c.destroy();
    } finally {
      await b.close();
    }
  });
});
