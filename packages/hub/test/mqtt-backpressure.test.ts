/**
 * Storage backpressure through the real hub (decision record 0033): when the message writer falls
 * behind, MQTT connections stop reading instead of their messages being refused. A writer queue of
 * 200 with five devices bursting 1,000 messages each (QoS 1 and QoS 0) would refuse thousands
 * without it; with it every message is stored and none is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';

const DEVICES = 5;
const PER_DEVICE = 1000;

describe('storage backpressure (TLS devices, persisted channel, writer queue 200)', () => {
  let t: TestHub;
  let channelId: string;
  const devices: { id: string; key: string }[] = [];

  before(async () => {
    t = await startTestHub(['--writer-queue', '200']);
    const s = await setupOwner(t);
    channelId = (await s.api.call('createChannel', { body: { name: 'flood' } })).id;
    for (let i = 0; i < DEVICES; i++) {
      const d = await s.api.devices.create({ name: `d${i}`, type: 'sensor' });
      devices.push({ id: d.id, key: (await s.api.devices.createKey(d.id)).key });
      await s.api.call('connectClient', {
        params: { id: channelId },
        body: { clientType: 'device', clientId: d.id, publish: true, subscribe: false },
      });
    }
  });
  after(() => t.close());

  /** Publishes `n` messages without waiting; resolves with the failed acknowledgements (QoS 1). */
  function flood(c: MqttClient, n: number, qos: 0 | 1): Promise<number> {
    const topic = `channels/${channelId}/messages/q${qos}`;
    return Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<number>((resolve) =>
            c.publish(topic, `m${i}`, { qos }, (err, packet) => {
              const code = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
              resolve(err || code >= 0x80 ? 1 : 0);
            }),
          ),
      ),
    ).then((r) => r.reduce((a, b) => a + b, 0));
  }

  it('five devices outrunning the writer are slowed, not refused: every message stored', async () => {
    const writer = t.hub.services.messaging.writer;
    const before = { rows: writer.stats.rows, refused: writer.stats.refused };
    const clients = await Promise.all(
      devices.map((d) =>
        connectTls(t, { clientId: d.id, username: d.id, password: d.key, protocolVersion: 5 }),
      ),
    );
    try {
      // Devices 0-2 send QoS 1 (each waits for its PUBACKs), 3-4 QoS 0 (nothing to wait for).
      const failed = await Promise.all(clients.map((c, i) => flood(c, PER_DEVICE, i < 3 ? 1 : 0)));
      assert.deepEqual(failed, [0, 0, 0, 0, 0], 'no QoS 1 message refused');
      const total = DEVICES * PER_DEVICE;
      const deadline = Date.now() + 20_000;
      while (writer.stats.rows - before.rows < total && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(writer.stats.rows - before.rows, total, 'every message stored, QoS 0 too');
      assert.equal(writer.stats.refused - before.refused, 0, 'the writer refused nothing');
      assert.ok(writer.stats.pressured > 0, 'the writer asked the connections to wait');
      assert.ok(t.hub.brokers.engine.stats().backpressured > 0, 'connections stopped reading');
      assert.equal(t.hub.brokers.engine.stats().dropped.on_publish_refused ?? 0, 0);
    } finally {
      for (const c of clients) c.end(true);
    }
  });
});
