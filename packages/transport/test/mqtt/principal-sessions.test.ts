/**
 * Sessions belong to their principal (DESIGN.md §4.1): the engine keys, resumes and takes over
 * sessions by `ClientIdentity.id` only, never by the client-chosen identifier; the hook may assign
 * the identifier of a client that sent none (a device's own id).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientIdentity, MqttHooks } from '../../src/mqtt/index.js';
import { collect, connect, sleep, startBroker, until } from './helpers.js';
import { connectBytes, RawClient } from './raw-client.js';

/**
 * Hooks keyed on the username as the principal of organization 1. A `device-…` username is a
 * device: with an empty client id it gets its device id. `nokey` yields no session key.
 */
const principalHooks: MqttHooks = {
  authenticate: (info) => {
    const user = info.username ?? '';
    if (user === '') return { refuse: 0x87 };
    if (user === 'nokey') return { id: '', principal: null };
    const identity: ClientIdentity = { id: `org-1/${user}`, principal: { org: 1, user } };
    if (user.startsWith('device-')) identity.clientId = user;
    return identity;
  },
  authorizePublish: () => 0,
  authorizeSubscribe: (_c, _f, qos) => qos,
};

const as = (username: string, clientId: string, extra: Record<string, unknown> = {}) => ({
  username,
  password: Buffer.from('x'),
  ...extra,
  clientId,
});

describe('sessions are keyed by the principal, not the client id', () => {
  it('two principals with the same client id coexist; neither takes the other over', async () => {
    const b = await startBroker({ hooks: principalHooks });
    try {
      const alice = await RawClient.connect(b.port, 'shared', 5, as('alice', 'shared'));
      const bob = await RawClient.connect(b.port, 'shared', 5, as('bob', 'shared'));
      for (const [c, id] of [
        [alice, 1],
        [bob, 2],
      ] as const) {
        c.send({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: 'news/#', qos: 1 }] });
        await c.next('suback');
      }
      await sleep(100);
      assert.equal(alice.closed, false);
      assert.equal(bob.closed, false);
      assert.equal(alice.packets.length + bob.packets.length, 0, 'no DISCONNECT 0x8E');
      assert.equal(b.engine.stats().sessions, 2);
      // Addressed by the session key: the client id names nobody.
      const msg = { topic: 'news/x', payload: Buffer.from('for alice'), qos: 1 as const };
      assert.equal(b.engine.deliverTo('shared', msg), false);
      assert.equal(b.engine.deliverTo('org-1/alice', msg), true);
      const got = (await alice.next('publish')) as { payload: Buffer };
      assert.equal(got.payload.toString(), 'for alice');
      await sleep(50);
      assert.equal(bob.packets.length, 0);
      assert.equal(b.engine.disconnect('shared', 0x98), false);
      assert.equal(b.engine.disconnect('org-1/bob', 0x98), true);
      assert.equal(((await bob.next('disconnect')) as { reasonCode?: number }).reasonCode, 0x98);
      assert.equal(alice.closed, false);
      alice.destroy();
    } finally {
      await b.close();
    }
  });

  it('the same principal takes its session over (0x8E), whatever client id it uses, and resumes it', async () => {
    const b = await startBroker({ hooks: principalHooks });
    try {
      const persistent = { clean: false, properties: { sessionExpiryInterval: 60 } };
      const first = await RawClient.connect(b.port, 'one', 5, as('carol', 'one', persistent));
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'c/#', qos: 1 }] });
      await first.next('suback');
      const second = await RawClient.open(b.port, 5);
      second.send({
        cmd: 'connect',
        protocolVersion: 5,
        keepalive: 30,
        ...as('carol', 'two', persistent),
      });
      const ack = (await second.next('connack')) as { sessionPresent: boolean };
      assert.equal(ack.sessionPresent, true);
      assert.equal(((await first.next('disconnect')) as { reasonCode?: number }).reasonCode, 0x8e);
      await first.waitClosed();
      assert.equal(b.engine.stats().subscriptions, 1);
      second.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('an empty client id is decided after authentication', () => {
  it('v5: a device that sent none gets its device id as the Assigned Client Identifier', async () => {
    const b = await startBroker({ hooks: principalHooks });
    try {
      const c = await RawClient.open(b.port, 5);
      c.send({
        cmd: 'connect',
        protocolVersion: 5,
        clean: true,
        keepalive: 30,
        ...as('device-7', ''),
      });
      const ack = (await c.next('connack')) as {
        reasonCode?: number;
        properties?: { assignedClientIdentifier?: string };
      };
      assert.equal(ack.reasonCode, 0);
      assert.equal(ack.properties?.assignedClientIdentifier, 'device-7');
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('v3.1.1 with Clean Session 0: accepted when the hook assigns an id, and resumed later', async () => {
    const b = await startBroker({ hooks: principalHooks });
    try {
      const hello = connectBytes({
        version: 4,
        clientId: '',
        clean: false,
        username: 'device-8',
        password: 'x',
      });
      for (const present of [false, true]) {
        const c = await RawClient.open(b.port, 4);
        c.write(hello);
        const ack = (await c.next('connack')) as { returnCode?: number; sessionPresent: boolean };
        assert.equal(ack.returnCode, 0);
        assert.equal(ack.sessionPresent, present);
        if (!present) {
          c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 1 }] });
          await c.next('suback');
        }
        c.destroy();
        await until(() => b.engine.stats().connections === 0);
      }
      assert.equal(b.engine.stats().subscriptions, 1);
    } finally {
      await b.close();
    }
  });

  it('v3.1.1 with Clean Session 0 and no id assigned: refused with 2 [MQTT-3.1.3-8]', async () => {
    const b = await startBroker({ hooks: principalHooks });
    try {
      const c = await RawClient.open(b.port, 4);
      c.write(
        connectBytes({ version: 4, clientId: '', clean: false, username: 'app', password: 'x' }),
      );
      assert.equal(((await c.next('connack')) as { returnCode?: number }).returnCode, 2);
      await c.waitClosed();
    } finally {
      await b.close();
    }
  });

  it('v5 and v3.1.1 Clean Session 1 without an assigned id get one made up; the key stays the principal', async () => {
    const b = await startBroker({ hooks: principalHooks });
    try {
      const v5 = await RawClient.open(b.port, 5);
      v5.send({ cmd: 'connect', protocolVersion: 5, clean: true, keepalive: 30, ...as('app', '') });
      const ack = (await v5.next('connack')) as {
        properties?: { assignedClientIdentifier?: string };
      };
      assert.match(ack.properties?.assignedClientIdentifier ?? '', /^bulwark-/);
      const v4 = await connect(b.port, { ...as('app', ''), protocolVersion: 4, clean: true });
      // Same principal: the second connection took the first over.
      assert.equal(((await v5.next('disconnect')) as { reasonCode?: number }).reasonCode, 0x8e);
      await v4.endAsync();
    } finally {
      await b.close();
    }
  });

  it('an identity without a session key is refused (0x85): it would make every such client one session', async () => {
    const b = await startBroker({ hooks: principalHooks });
    try {
      const c = await RawClient.open(b.port, 5);
      c.send({ cmd: 'connect', protocolVersion: 5, keepalive: 30, ...as('nokey', 'n') });
      assert.equal(((await c.next('connack')) as { reasonCode?: number }).reasonCode, 0x85);
      await c.waitClosed();
      assert.equal(b.engine.stats().sessions, 0);
    } finally {
      await b.close();
    }
  });
});

describe('open mode (no principal): the assigned id is the session key', () => {
  it('a v5 client reconnecting with its Assigned Client Identifier resumes its session', async () => {
    const b = await startBroker();
    try {
      const first = await RawClient.open(b.port, 5);
      first.write(connectBytes({ version: 5, clientId: '', clean: false, sessionExpiry: 60 }));
      const ack = (await first.next('connack')) as {
        properties?: { assignedClientIdentifier?: string };
      };
      const assigned = ack.properties?.assignedClientIdentifier ?? '';
      assert.match(assigned, /^bulwark-/);
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'o/#', qos: 1 }] });
      await first.next('suback');
      first.destroy();
      await until(() => b.engine.stats().connections === 0);
      const pub = await connect(b.port, { clientId: 'op', protocolVersion: 5 });
      const watcher = collect(pub);
      await pub.publishAsync('o/1', 'kept', { qos: 1 });
      const again = await RawClient.open(b.port, 5);
      again.write(
        connectBytes({ version: 5, clientId: assigned, clean: false, sessionExpiry: 60 }),
      );
      assert.equal(
        ((await again.next('connack')) as { sessionPresent: boolean }).sessionPresent,
        true,
      );
      const p = (await again.next('publish')) as { payload: Buffer };
      assert.equal(p.payload.toString(), 'kept');
      assert.equal(watcher.length, 0);
      again.destroy();
      await pub.endAsync();
    } finally {
      await b.close();
    }
  });
});
