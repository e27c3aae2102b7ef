/** CONNECT and CONNACK: authentication, refusal codes, identifiers, limits, keep-alive, takeover. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMqttEngine, listenTcp, MQTT_REASON } from '../../src/mqtt/index.js';
import type { MqttHooks } from '../../src/mqtt/index.js';
import type { AddressInfo } from 'node:net';
import { connackCode, connect, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

const refusing = (code: 0x86 | 0x87 | 0x8a | 0x88): MqttHooks => ({
  authenticate: () => ({ refuse: code }),
  authorizePublish: () => 0,
  authorizeSubscribe: (_c, _f, q) => q,
});

describe('CONNECT: authentication (deny by default)', () => {
  it('an engine without hooks refuses everyone: v5 0x87, v3.1.1 return code 5', async () => {
    const engine = createMqttEngine({});
    const server = await listenTcp(engine, { port: 0 });
    const port = (server.address() as AddressInfo).port;
    try {
      assert.equal(await connackCode(port, { protocolVersion: 5 }), 0x87);
      assert.equal(await connackCode(port, { protocolVersion: 4 }), 5);
    } finally {
      await engine.close();
      server.close();
    }
  });

  for (const [reason, v3] of [
    [0x86, 4],
    [0x87, 5],
    [0x8a, 5],
    [0x88, 3],
  ] as const) {
    it(`a refusal 0x${reason.toString(16)} reaches v5 as is and v3.1.1 as ${v3}`, async () => {
      const b = await startBroker({ hooks: refusing(reason) });
      try {
        assert.equal(await connackCode(b.port, { protocolVersion: 5 }), reason);
        assert.equal(await connackCode(b.port, { protocolVersion: 4 }), v3);
        assert.equal(b.engine.stats().denied.connect, 2);
      } finally {
        await b.close();
      }
    });
  }

  it('authenticate sees the credentials and may answer asynchronously', async () => {
    let seen: { username?: string; password?: string; listener?: string } = {};
    const b = await startBroker({
      hooks: {
        authenticate: async (info) => {
          seen = {
            ...(info.username !== undefined ? { username: info.username } : {}),
            ...(info.password !== undefined
              ? { password: Buffer.from(info.password).toString() }
              : {}),
            listener: info.listener,
          };
          await new Promise((r) => setTimeout(r, 10));
          return info.username === 'dev' ? { id: 'device-1', principal: 'x' } : { refuse: 0x86 };
        },
        authorizePublish: () => 0,
        authorizeSubscribe: (_c, _f, q) => q,
      },
    });
    try {
      assert.equal(await connackCode(b.port, { username: 'nope', password: 'x' }), 4);
      const c = await connect(b.port, { username: 'dev', password: 'secret', protocolVersion: 5 });
      assert.deepEqual(seen, { username: 'dev', password: 'secret', listener: 'tcp' });
      await c.endAsync();
    } finally {
      await b.close();
    }
  });
});

describe('CONNECT: client identifiers and sessions', () => {
  it('v5 with an empty client id gets an Assigned Client Identifier [MQTT-3.2.2-16]', async () => {
    const b = await startBroker();
    try {
      const c = await RawClient.open(b.port, 5);
      c.send({ cmd: 'connect', clientId: '', protocolVersion: 5, clean: true, keepalive: 30 });
      const ack = (await c.next('connack')) as {
        properties?: { assignedClientIdentifier?: string };
      };
      assert.match(ack.properties?.assignedClientIdentifier ?? '', /^bulwark-/);
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('v3.1.1 with an empty id and Clean Session 0 is rejected with 2 [MQTT-3.1.3-8]', async () => {
    const b = await startBroker();
    try {
      const c = await RawClient.open(b.port, 4);
      // CONNECT v3.1.1, flags 0x00 (Clean Session 0), keep-alive 30, empty client id.
      c.write(Buffer.from('100c00044d5154540400001e0000', 'hex'));
      const ack = (await c.next('connack')) as { returnCode?: number };
      assert.equal(ack.returnCode, 2);
      await c.waitClosed();
    } finally {
      await b.close();
    }
  });

  it('a second connection with the same id takes the session over (v5 0x8E) [MQTT-3.1.4-3]', async () => {
    const b = await startBroker();
    try {
      const first = await RawClient.connect(b.port, 'same', 5);
      const second = await connect(b.port, { clientId: 'same', protocolVersion: 5 });
      const d = (await first.next('disconnect')) as { reasonCode?: number };
      assert.equal(d.reasonCode, MQTT_REASON.SESSION_TAKEN_OVER);
      await first.waitClosed();
      assert.equal(b.engine.stats().connections, 1);
      await second.endAsync();
    } finally {
      await b.close();
    }
  });

  it('disconnect(id, reason) cuts a live session: v5 DISCONNECT with the reason, v3.1.1 a close', async () => {
    const b = await startBroker();
    try {
      const v5 = await RawClient.connect(b.port, 'cut-v5', 5);
      const v4 = await RawClient.connect(b.port, 'cut-v4', 4);
      assert.equal(b.engine.disconnect('cut-v5', MQTT_REASON.ADMINISTRATIVE_ACTION), true);
      assert.equal(b.engine.disconnect('cut-v4', MQTT_REASON.ADMINISTRATIVE_ACTION), true);
      assert.equal(b.engine.disconnect('nobody', 0x98), false);
      const d = (await v5.next('disconnect')) as { reasonCode?: number };
      assert.equal(d.reasonCode, 0x98);
      await v5.waitClosed();
      await v4.waitClosed();
      assert.equal(v4.packets.length, 0);
    } finally {
      await b.close();
    }
  });
});

describe('CONNECT: limits', () => {
  it('connections per source address are bounded (v5 0x97 Quota exceeded, v3.1.1 3)', async () => {
    // Loopback is exempt by default; this test counts it like any other address.
    const b = await startBroker({
      limits: { maxConnectionsPerAddress: 2 },
      addressLimitExempt: () => false,
    });
    try {
      const a = await connect(b.port, { clientId: 'a' });
      const c = await connect(b.port, { clientId: 'c' });
      assert.equal(await connackCode(b.port, { clientId: 'd', protocolVersion: 5 }), 0x97);
      assert.equal(await connackCode(b.port, { clientId: 'e', protocolVersion: 4 }), 3);
      await a.endAsync();
      await until(() => b.engine.stats().connections === 1);
      const f = await connect(b.port, { clientId: 'f' });
      await f.endAsync();
      await c.endAsync();
    } finally {
      await b.close();
    }
  });

  it('a client silent for 1.5 × keep-alive is disconnected (v5 0x8D) [MQTT-3.1.2-22]', async () => {
    const b = await startBroker();
    try {
      const c = await RawClient.connect(b.port, 'sleepy', 5, { keepalive: 1 });
      const t0 = Date.now();
      const d = (await c.next('disconnect', 4000)) as { reasonCode?: number };
      const waited = Date.now() - t0;
      assert.equal(d.reasonCode, MQTT_REASON.KEEP_ALIVE_TIMEOUT);
      assert.ok(waited >= 1300 && waited < 2500, `closed after ${waited} ms`);
    } finally {
      await b.close();
    }
  });

  it('PINGREQ keeps the connection alive [MQTT-3.12.4-1]', async () => {
    const b = await startBroker();
    try {
      const c = await RawClient.connect(b.port, 'pinger', 4, { keepalive: 1 });
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 500));
        c.send({ cmd: 'pingreq' });
        await c.next('pingresp');
      }
      assert.equal(c.closed, false);
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('a packet larger than Maximum Packet Size: v5 DISCONNECT 0x95, v3.1.1 close', async () => {
    const b = await startBroker({ limits: { maxPacketSize: 1024 } });
    try {
      const v5 = await RawClient.connect(b.port, 'big5', 5);
      v5.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(2000), qos: 0 });
      const d = (await v5.next('disconnect')) as { reasonCode?: number };
      assert.equal(d.reasonCode, MQTT_REASON.PACKET_TOO_LARGE);
      const v4 = await RawClient.connect(b.port, 'big4', 4);
      v4.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(2000), qos: 0 });
      await v4.waitClosed();
    } finally {
      await b.close();
    }
  });
});
