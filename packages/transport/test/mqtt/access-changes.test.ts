/**
 * Access changes reach sessions (DESIGN.md §4.1): a resumed session's subscriptions are authorized
 * again before anything is delivered; `reauthorize` re-runs authorizeSubscribe for live and offline
 * sessions and stops deliveries at once; `disconnectWhere` cuts every matching connection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  ClientIdentity,
  GrantedSubscription,
  MqttDenial,
  MqttEngineOptions,
  MqttHooks,
  SubscribeContext,
} from '../../src/mqtt/index.js';
import { connect, sleep, startBroker, until } from './helpers.js';
import { RawClient } from './raw-client.js';

type Org = 'A' | 'B';

/** Hooks whose answers change between connections: filters under a revoked prefix are denied. */
function changingHooks(opts: { async?: boolean } = {}) {
  const state = {
    revoked: new Set<string>(),
    lowered: new Set<string>(),
    failing: false,
    asked: [] as Array<{ id: string; filter: string } & SubscribeContext>,
    denials: [] as MqttDenial[],
    subscribed: [] as Array<{ id: string; subs: readonly GrantedSubscription[] }>,
  };
  const decide = (c: ClientIdentity, filter: string, qos: 0 | 1 | 2, ctx: SubscribeContext) => {
    state.asked.push({ id: c.id, filter, ...ctx });
    if (state.failing && ctx.cause !== 'subscribe') throw new Error('authorization store down');
    if ([...state.revoked].some((p) => filter.startsWith(p))) return 0x87;
    if ([...state.lowered].some((p) => filter.startsWith(p))) return 0;
    return qos;
  };
  const hooks: MqttHooks = {
    // username "A:alice": organization A, principal alice; the client id is only a name.
    authenticate: (info) => {
      const [org, user] = (info.username ?? ':').split(':') as [Org, string];
      return { id: `${org}/${user}`, principal: { org, user } };
    },
    authorizePublish: () => 0,
    authorizeSubscribe: opts.async
      ? async (c, f, q, ctx) => {
          await sleep(30);
          return decide(c, f, q, ctx);
        }
      : decide,
    onSubscribed: (c, subs) => state.subscribed.push({ id: c.id, subs }),
  };
  const engineOpts: MqttEngineOptions = { hooks, onDenied: (d) => state.denials.push(d) };
  return { state, engineOpts };
}

const login = (org: Org, user: string, clientId: string, extra: Record<string, unknown> = {}) => ({
  username: `${org}:${user}`,
  password: Buffer.from('x'),
  ...extra,
  clientId,
});
const persistent = { clean: false, properties: { sessionExpiryInterval: 60 } };
const orgOf = (id: ClientIdentity): Org => (id.principal as { org: Org }).org;

/** Publish QoS 1 messages from a fresh client (v5) and wait for each PUBACK. */
async function publishAll(port: number, topics: string[]): Promise<void> {
  const pub = await connect(port, { protocolVersion: 5, ...login('B', 'pub', 'pub') });
  for (const t of topics) await pub.publishAsync(t, t, { qos: 1 });
  await pub.endAsync();
}

/** Reconnect a persistent v5 session; returns the client and the CONNACK. */
async function resume(port: number, user: string) {
  const c = await RawClient.open(port, 5);
  c.send({
    cmd: 'connect',
    protocolVersion: 5,
    keepalive: 30,
    ...login('A', user, user, persistent),
  });
  // The first packet: nothing may be delivered before the CONNACK.
  const ack = (await c.next()) as { cmd: string; sessionPresent: boolean; reasonCode?: number };
  assert.equal(ack.cmd, 'connack');
  return { c, ack };
}

describe('a resumed session is authorized again before anything is delivered', () => {
  for (const async of [false, true]) {
    it(`${async ? 'async' : 'sync'} hook: denied subscriptions (plain and shared) go, with their queued messages`, async () => {
      const { state, engineOpts } = changingHooks({ async });
      const b = await startBroker(engineOpts);
      try {
        const s = await RawClient.connect(b.port, 'sub', 5, login('A', 'sub', 'sub', persistent));
        s.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [
            { topic: 'keep/#', qos: 1 },
            { topic: 'drop/#', qos: 1 },
            { topic: '$share/g/drop/#', qos: 1 },
          ],
        });
        assert.deepEqual(((await s.next('suback')) as { granted: number[] }).granted, [1, 1, 1]);
        s.destroy();
        await until(() => b.engine.stats().connections === 0);
        await publishAll(b.port, ['keep/1', 'drop/1']);
        assert.equal(b.engine.stats().queued, 3); // keep/1, and drop/1 twice (plain + shared)
        state.revoked.add('drop/');
        state.asked.length = 0;
        const { c, ack } = await resume(b.port, 'sub');
        assert.equal(ack.sessionPresent, true);
        const first = (await c.next('publish')) as { topic: string };
        assert.equal(first.topic, 'keep/1');
        await sleep(150);
        assert.deepEqual(
          c.packets.filter((p) => p.cmd === 'publish'),
          [],
          'nothing from the dropped subscriptions',
        );
        assert.deepEqual(state.asked.map((a) => [a.filter, a.group, a.cause]).sort(), [
          ['drop/#', null, 'resume'],
          ['drop/#', 'g', 'resume'],
          ['keep/#', null, 'resume'],
        ]);
        assert.deepEqual(state.denials.map((d) => [d.topic, d.cause, d.reasonCode]).sort(), [
          ['$share/g/drop/#', 'resume', 0x87],
          ['drop/#', 'resume', 0x87],
        ]);
        assert.deepEqual(state.subscribed.at(-1), {
          id: 'A/sub',
          subs: [{ filter: 'keep/#', qos: 1 }],
        });
        const stats = b.engine.stats();
        assert.equal(stats.subscriptions, 1);
        assert.equal(stats.queued, 0);
        assert.equal(stats.dropped.subscription_revoked, 2);
        c.destroy();
      } finally {
        await b.close();
      }
    });
  }

  it('a message sent but not acknowledged on a dropped subscription is not sent again', async () => {
    const { state, engineOpts } = changingHooks();
    const b = await startBroker(engineOpts);
    try {
      const s = await RawClient.connect(b.port, 'sub', 5, login('A', 'sub', 'sub', persistent));
      s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'drop/#', qos: 1 }] });
      await s.next('suback');
      await publishAll(b.port, ['drop/unacked']);
      await s.next('publish'); // no PUBACK: in flight
      s.destroy();
      await until(() => b.engine.stats().connections === 0);
      state.revoked.add('drop/');
      const { c, ack } = await resume(b.port, 'sub');
      assert.equal(ack.sessionPresent, true);
      await sleep(150);
      assert.deepEqual(c.packets, [], 'no DUP resend [MQTT-4.4.0-1] of a revoked subscription');
      assert.equal(b.engine.stats().inflight, 0);
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('a hook failure refuses the connection (0x88) and keeps the session for a later resume', async () => {
    const { state, engineOpts } = changingHooks();
    const b = await startBroker(engineOpts);
    try {
      const s = await RawClient.connect(b.port, 'sub', 5, login('A', 'sub', 'sub', persistent));
      s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'keep/#', qos: 1 }] });
      await s.next('suback');
      s.destroy();
      await until(() => b.engine.stats().connections === 0);
      await publishAll(b.port, ['keep/1']);
      state.failing = true;
      const refused = await resume(b.port, 'sub');
      assert.equal(refused.ack.reasonCode, 0x88);
      assert.deepEqual(refused.c.packets, []);
      await refused.c.waitClosed();
      state.failing = false;
      const { c, ack } = await resume(b.port, 'sub');
      assert.equal(ack.sessionPresent, true);
      assert.equal(((await c.next('publish')) as { topic: string }).topic, 'keep/1');
      c.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('reauthorize: access changes reach live and offline sessions', () => {
  it('a live subscription now denied stops delivering at once; other principals are not asked', async () => {
    const { state, engineOpts } = changingHooks({ async: true });
    const b = await startBroker(engineOpts);
    try {
      const a = await RawClient.connect(b.port, 'a', 5, login('A', 'a', 'a'));
      const other = await RawClient.connect(b.port, 'o', 5, login('B', 'o', 'o'));
      for (const c of [a, other]) {
        c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'feed/#', qos: 0 }] });
        await c.next('suback');
      }
      await publishAll(b.port, ['feed/1']);
      assert.equal(((await a.next('publish')) as { topic: string }).topic, 'feed/1');
      await other.next('publish');
      state.revoked.add('feed/');
      state.asked.length = 0;
      assert.equal(await b.engine.reauthorize((id) => orgOf(id) === 'A'), 1);
      assert.deepEqual(
        state.asked.map((x) => [x.id, x.filter, x.cause]),
        [['A/a', 'feed/#', 'reauthorize']],
      );
      assert.deepEqual(
        state.denials.map((d) => [d.client.id, d.topic, d.cause]),
        [['A/a', 'feed/#', 'reauthorize']],
      );
      await publishAll(b.port, ['feed/2']);
      assert.equal(((await other.next('publish')) as { topic: string }).topic, 'feed/2');
      await sleep(100);
      assert.deepEqual(a.packets, [], 'nothing more for the revoked subscription');
      assert.equal(a.closed, false, 'the connection itself stays');
      a.destroy();
      other.destroy();
    } finally {
      await b.close();
    }
  });

  it('an offline persistent session loses the subscription and its queued messages', async () => {
    const { state, engineOpts } = changingHooks();
    const b = await startBroker(engineOpts);
    try {
      const s = await RawClient.connect(b.port, 'sub', 5, login('A', 'sub', 'sub', persistent));
      s.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'feed/#', qos: 1 },
          { topic: 'keep/#', qos: 1 },
        ],
      });
      await s.next('suback');
      s.destroy();
      await until(() => b.engine.stats().connections === 0);
      await publishAll(b.port, ['feed/1', 'feed/2', 'keep/1']);
      assert.equal(b.engine.stats().queued, 3);
      state.revoked.add('feed/');
      assert.equal(await b.engine.reauthorize((id) => id.id === 'A/sub'), 1);
      assert.equal(b.engine.stats().queued, 1);
      const { c, ack } = await resume(b.port, 'sub');
      assert.equal(ack.sessionPresent, true);
      assert.equal(((await c.next('publish')) as { topic: string }).topic, 'keep/1');
      await sleep(100);
      assert.deepEqual(
        c.packets.filter((p) => p.cmd === 'publish'),
        [],
      );
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('a lower grant lowers the QoS; a failing hook drops the subscription (fail closed)', async () => {
    const { state, engineOpts } = changingHooks({ async: true });
    const b = await startBroker(engineOpts);
    try {
      const s = await RawClient.connect(b.port, 's', 5, login('A', 's', 's'));
      s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 1 }] });
      await s.next('suback');
      state.lowered.add('q/');
      assert.equal(await b.engine.reauthorize(() => true), 0);
      await publishAll(b.port, ['q/1']);
      assert.equal(((await s.next('publish')) as { qos: number }).qos, 0);
      state.failing = true;
      assert.equal(await b.engine.reauthorize(() => true), 1);
      assert.equal(b.engine.stats().subscriptions, 0);
      s.destroy();
    } finally {
      await b.close();
    }
  });
});

describe('disconnectWhere: cutting every connection of a principal', () => {
  it('cuts matching connections (v5 DISCONNECT with the reason, v3.1.1 a close) and no others', async () => {
    const { engineOpts } = changingHooks();
    const b = await startBroker(engineOpts);
    try {
      const a5 = await RawClient.connect(b.port, 'x', 5, login('A', 'one', 'x'));
      const a4 = await RawClient.connect(b.port, 'y', 4, login('A', 'two', 'y'));
      const a5b = await RawClient.connect(b.port, 'z', 5, login('A', 'three', 'z'));
      const b5 = await RawClient.connect(b.port, 'x', 5, login('B', 'one', 'x'));
      const cut = b.engine.disconnectWhere((id) => orgOf(id) === 'A' && id.id !== 'A/three', 0x98);
      assert.equal(cut, 2);
      assert.equal(((await a5.next('disconnect')) as { reasonCode?: number }).reasonCode, 0x98);
      await a4.waitClosed();
      assert.deepEqual(a4.packets, []);
      // A reason a DISCONNECT may not carry (0x8A Banned) goes out as 0x87 Not authorized.
      assert.equal(
        b.engine.disconnectWhere((id) => id.id === 'A/three', 0x8a),
        1,
      );
      assert.equal(((await a5b.next('disconnect')) as { reasonCode?: number }).reasonCode, 0x87);
      b5.send({ cmd: 'pingreq' });
      await b5.next('pingresp');
      assert.equal(b.engine.stats().connections, 1);
      b5.destroy();
    } finally {
      await b.close();
    }
  });

  it('keeps persistent sessions for a later (re-authorized) resume, or ends them with endSessions', async () => {
    const { engineOpts } = changingHooks();
    const b = await startBroker(engineOpts);
    try {
      for (const endSessions of [false, true]) {
        const live = await RawClient.connect(
          b.port,
          'l',
          5,
          login('A', 'live', 'live', persistent),
        );
        const off = await RawClient.connect(b.port, 'o', 5, login('A', 'off', 'off', persistent));
        off.destroy();
        await until(() => b.engine.stats().connections === 1);
        const n = b.engine.disconnectWhere((id) => orgOf(id) === 'A', 0x98, { endSessions });
        assert.equal(n, 1);
        await live.waitClosed();
        await until(() => b.engine.stats().connections === 0);
        assert.equal(b.engine.stats().sessions, endSessions ? 0 : 2);
        for (const user of ['live', 'off']) {
          const { c, ack } = await resume(b.port, user);
          assert.equal(ack.sessionPresent, !endSessions, `${user}, endSessions ${endSessions}`);
          c.destroy();
        }
        await until(() => b.engine.stats().connections === 0);
      }
    } finally {
      await b.close();
    }
  });
});

describe('a connection cut while a hook is answering', () => {
  it('has its publish not taken and its subscription not added', async () => {
    const published: string[] = [];
    const slow = <T>(v: T): Promise<T> => new Promise((r) => setTimeout(() => r(v), 150));
    const hooks: MqttHooks = {
      authenticate: (info) => ({ id: `A/${info.clientId}`, principal: { org: 'A' } }),
      authorizePublish: () => slow(0),
      authorizeSubscribe: (_c, _f, qos) => slow(qos),
      onPublish: (_c, m) => {
        published.push(m.topic);
      },
    };
    const b = await startBroker({ hooks });
    try {
      const pub = await RawClient.connect(b.port, 'p', 5);
      const sub = await RawClient.connect(b.port, 's', 5);
      pub.send({ cmd: 'publish', topic: 'late/p', payload: 'x', qos: 1, messageId: 1 });
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'late/#', qos: 1 }] });
      await sleep(30);
      assert.equal(
        b.engine.disconnectWhere(() => true, 0x98, { endSessions: true }),
        2,
      );
      await sleep(300);
      assert.deepEqual(published, [], 'onPublish not called for a cut connection');
      const stats = b.engine.stats();
      assert.equal(stats.subscriptions, 0, 'no subscription left behind');
      assert.equal(stats.sessions, 0);
      assert.equal(stats.dropped.connection_closed, 1);
    } finally {
      await b.close();
    }
  });
});
