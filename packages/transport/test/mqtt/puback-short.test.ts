/** PUBACK in its short form (read without the general decoder): the same rules as the long way. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

const puback = (id: number) => Buffer.from([0x40, 2, id >> 8, id & 0xff]);

for (const version of [4, 5] as const) {
  describe(`short PUBACK from an MQTT ${version === 5 ? '5' : '3.1.1'} subscriber`, () => {
    it('completes a QoS 1 delivery; for a QoS 2 one it is a protocol error; id 0 is malformed', async () => {
      const b = await startBroker();
      try {
        const c = await RawClient.connect(b.port, `ack${version}`, version);
        c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 2 }] });
        await c.next('suback');
        c.send({ cmd: 'publish', topic: 'a/1', payload: 'one', qos: 1, messageId: 2 });
        await c.next('puback');
        const d1 = (await c.next('publish')) as IPublishPacket;
        assert.equal(d1.qos, 1);
        c.write(puback(d1.messageId!));
        await until(() => b.engine.stats().inflight === 0, 3000, 'the QoS 1 delivery completed');
        // A QoS 2 delivery answered with PUBACK: the wrong kind of acknowledgement.
        c.send({ cmd: 'publish', topic: 'a/2', payload: 'two', qos: 2, messageId: 3 });
        await c.next('pubrec');
        c.send({ cmd: 'pubrel', messageId: 3 });
        await c.next('pubcomp');
        const d2 = (await c.next('publish')) as IPublishPacket;
        assert.equal(d2.qos, 2);
        c.write(puback(d2.messageId!));
        await c.waitClosed();
        if (version === 5) {
          // [MQTT-4.13.1-1] v5 is told why: 0x82 Protocol Error.
          const why = (await c.next('disconnect')) as IDisconnectPacket;
          assert.equal(why.reasonCode, 0x82);
        }
        // Packet id 0 goes the long way, as before: the decoder's answer, never a completion.
        const z = await RawClient.connect(b.port, `zero${version}`, version);
        z.write(puback(0));
        await z.waitClosed();
      } finally {
        await b.close();
      }
    });
  });
}
