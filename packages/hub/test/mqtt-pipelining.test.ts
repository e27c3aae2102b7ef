/**
 * Pipelining through the real hub (decision record 0018): one device connection over TLS sends a
 * burst of QoS 1 to a persisted channel without waiting; every PUBACK comes in the order sent and
 * only for stored messages; an access change mid-burst lets nothing past the removed right.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient, Packet } from 'mqtt';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';

interface Sent {
  payload: string;
  code: number;
}

/** Publish `n` QoS 1 without waiting; resolve with each one's PUBACK code and the PUBACK order. */
async function burst(
  c: MqttClient,
  topic: string,
  n: number,
  onAck?: (acked: number) => void,
): Promise<{ sent: Sent[]; sendOrder: number[]; ackOrder: number[]; ms: number }> {
  const sendOrder: number[] = [];
  const ackOrder: number[] = [];
  const onSend = (p: Packet) => {
    if (p.cmd === 'publish' && p.qos === 1) sendOrder.push(p.messageId!);
  };
  const onReceive = (p: Packet) => {
    if (p.cmd === 'puback') {
      ackOrder.push(p.messageId!);
      onAck?.(ackOrder.length);
    }
  };
  c.on('packetsend', onSend);
  c.on('packetreceive', onReceive);
  const t0 = performance.now();
  const sent = await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<Sent>((resolve) => {
          const payload = `m${i}`;
          c.publish(topic, payload, { qos: 1 }, (err, packet) =>
            resolve({
              payload,
              code: err
                ? ((err as { code?: number }).code ?? 0x80)
                : ((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0),
            }),
          );
        }),
    ),
  );
  const ms = performance.now() - t0;
  c.off('packetsend', onSend);
  c.off('packetreceive', onReceive);
  return { sent, sendOrder, ackOrder, ms };
}

describe('MQTT pipelining through the hub (TLS, device key, persisted channel)', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let device: { id: string; key: string };

  /** Every stored payload of a subtopic, decoded. */
  async function stored(subtopic: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await s.api.call('listMessages', {
        params: { id: channelId },
        query: { subtopic, limit: 500, ...(cursor ? { cursor } : {}) },
      });
      out.push(...page.items.map((m) => Buffer.from(m.payload, 'base64').toString()));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return out;
  }

  const rights = (publish: boolean) =>
    s.api.call('connectClient', {
      params: { id: channelId },
      body: { clientType: 'device', clientId: device.id, publish, subscribe: false },
    });

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    channelId = (await s.api.call('createChannel', { body: { name: 'gateway' } })).id;
    const d = await s.api.devices.create({ name: 'gateway', type: 'gateway' });
    device = { id: d.id, key: (await s.api.devices.createKey(d.id)).key };
    await rights(true);
  });
  after(() => t.close());

  for (const protocolVersion of [5, 4] as const) {
    it(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: 2,000 QoS 1 without waiting — all stored, PUBACKs in order [MQTT-4.6.0-2]`, async (ctx) => {
      const c = await connectTls(t, {
        protocolVersion,
        clientId: device.id,
        username: device.id,
        password: device.key,
      });
      try {
        const sub = `burst${protocolVersion}`;
        const n = 2000;
        const r = await burst(c, `channels/${channelId}/messages/${sub}`, n);
        assert.ok(
          r.sent.every((x) => x.code < 0x80),
          'every message acknowledged as a success',
        );
        assert.equal(r.ackOrder.length, n);
        assert.deepEqual(r.ackOrder, r.sendOrder);
        const got = await stored(sub);
        assert.equal(got.length, n);
        assert.deepEqual(new Set(got), new Set(r.sent.map((x) => x.payload)));
        ctx.diagnostic(
          `one connection, stored QoS 1: ${Math.round((n / r.ms) * 1000)} msg/s (shared machine)`,
        );
      } finally {
        c.end(true);
      }
    });
  }

  it('a right removed mid-burst: every PUBACKed message is stored, nothing after the first refusal is', async () => {
    const c = await connectTls(t, {
      protocolVersion: 5,
      clientId: device.id,
      username: device.id,
      password: device.key,
    });
    try {
      const sub = 'revoked';
      const removal: { done?: Promise<unknown> } = {};
      const r = await burst(c, `channels/${channelId}/messages/${sub}`, 2000, (acked) => {
        if (acked === 200) removal.done = rights(false);
      });
      assert.ok(removal.done, 'the right was removed mid-burst');
      await removal.done;
      const ok = r.sent.filter((x) => x.code < 0x80).map((x) => x.payload);
      const firstRefused = r.sent.findIndex((x) => x.code >= 0x80);
      assert.ok(firstRefused >= 200, `refused from ${firstRefused} (-1: the burst ended first)`);
      // In order: once refused, every later message is refused too (0x87 Not authorized).
      assert.ok(r.sent.slice(firstRefused).every((x) => x.code === 0x87));
      assert.deepEqual(r.ackOrder, r.sendOrder);
      const got = await stored(sub);
      assert.deepEqual(new Set(got), new Set(ok), 'stored exactly the acknowledged ones');
    } finally {
      c.end(true);
      await rights(true);
    }
  });
});
