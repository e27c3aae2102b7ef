import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  newId,
  type MqttQueuedRecord,
  type MqttSessionRecord,
  type MqttStateStore,
} from '@bulwark/core';
import { useStorage, type OpenStorage } from './harness.js';

const session = (key: string, over: Partial<MqttSessionRecord> = {}): MqttSessionRecord => ({
  key,
  clientId: `c-${key}`,
  identity: JSON.stringify({ id: key }),
  expiryInterval: 3600,
  expiresAt: null,
  subscriptions: [
    {
      filter: 'channels/a/messages/#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
      subId: 0,
    },
  ],
  inboundQos2: [],
  ...over,
});

const item = (seq: number, over: Partial<MqttQueuedRecord> = {}): MqttQueuedRecord => ({
  seq,
  topic: `t/${seq}`,
  payload: Buffer.from(`m${seq}`),
  qos: 1,
  retain: false,
  props: null,
  expiresAt: 0,
  subIds: null,
  packetId: null,
  released: false,
  ...over,
});

/** The queue of `key` as `node` takes it: seq, packet id, released, payload text. */
async function queueOf(m: MqttStateStore, key: string, node: string) {
  const t = await m.take(key, node, Date.now());
  return t?.queue.map((q) => [q.seq, q.packetId, q.released, Buffer.from(q.payload).toString()]);
}

/** MqttStateStore: retained messages, session ownership, queues in order, expiry (decision 0020). */
export function mqttStateSuite(open: OpenStorage): void {
  describe('MqttStateStore', () => {
    const s = useStorage(open);
    const m = () => s().mqttState;

    it('keeps one retained message per topic, lists them by prefix, and forgets a cleared one', async () => {
      const p = `r-${newId()}/`;
      await m().apply('n1', [
        {
          op: 'retain',
          record: { topic: `${p}a`, payload: Buffer.from('1'), qos: 1, props: null, expiresAt: 0 },
        },
        {
          op: 'retain',
          record: {
            topic: `${p}b`,
            payload: Buffer.from('2'),
            qos: 0,
            props: '{"contentType":"x"}',
            expiresAt: 5,
          },
        },
        {
          op: 'retain',
          record: { topic: `${p}a`, payload: Buffer.from('3'), qos: 2, props: null, expiresAt: 0 },
        },
      ]);
      const got = await m().retained(p);
      assert.deepEqual(
        got.map((r) => [r.topic, Buffer.from(r.payload).toString(), r.qos, r.props, r.expiresAt]),
        [
          [`${p}a`, '3', 2, null, 0],
          [`${p}b`, '2', 0, '{"contentType":"x"}', 5],
        ],
      );
      // Another node sees and changes the same retained messages (they belong to nobody).
      await m().apply('n2', [{ op: 'unretain', topic: `${p}b` }]);
      assert.deepEqual(
        (await m().retained(p)).map((r) => r.topic),
        [`${p}a`],
      );
      assert.deepEqual(await m().retained(`${p}zz`), []);
      // A prefix is literal: '%' and '_' match only themselves.
      assert.deepEqual(await m().retained(`${p.slice(0, -1)}%`), []);
    });

    it('stores a session with its queue in seq order; sent, released and done change it', async () => {
      const k = `s-${newId()}`;
      await m().apply('n1', [
        { op: 'create', session: session(k, { inboundQos2: [7, 9] }) },
        { op: 'enqueue', key: k, item: item(1) },
        { op: 'enqueue', key: k, item: item(3, { qos: 2, subIds: [4, 5], props: '{"a":1}' }) },
        { op: 'enqueue', key: k, item: item(2) },
        { op: 'sent', key: k, seq: 3, packetId: 42 },
        { op: 'released', key: k, seq: 3 },
        { op: 'done', key: k, seq: 1 },
      ]);
      const t = await m().take(k, 'n1', Date.now());
      assert.ok(t);
      assert.equal(t.previousOwner, 'n1');
      assert.deepEqual(t.session, session(k, { inboundQos2: [7, 9] }));
      assert.deepEqual(
        t.queue.map((q) => [q.seq, q.qos, q.packetId, q.released, q.subIds, q.props]),
        [
          [2, 1, null, false, null, null],
          [3, 2, 42, true, [4, 5], '{"a":1}'],
        ],
      );
    });

    it('writes to a session only as its owner; a take moves it and the old owner learns it', async () => {
      const k = `o-${newId()}`;
      await m().apply('a', [
        { op: 'create', session: session(k) },
        { op: 'enqueue', key: k, item: item(1) },
      ]);
      const taken = await m().take(k, 'b', Date.now());
      assert.equal(taken?.previousOwner, 'a');
      const r = await m().apply('a', [
        { op: 'enqueue', key: k, item: item(2) },
        { op: 'done', key: k, seq: 1 },
        { op: 'update', session: session(k, { clientId: 'stale' }) },
        { op: 'end', key: k },
      ]);
      assert.deepEqual(r.notOwned, [k]);
      assert.deepEqual(await queueOf(m(), k, 'b'), [[1, null, false, 'm1']]);
      // Nobody stores it: operations on an unknown session are skipped and reported too.
      const ghost = `g-${newId()}`;
      assert.deepEqual(
        (await m().apply('a', [{ op: 'enqueue', key: ghost, item: item(1) }])).notOwned,
        [ghost],
      );
      assert.equal(await m().take(ghost, 'a', Date.now()), undefined);
    });

    it('create replaces a stored session and drops its queue; end deletes both', async () => {
      const k = `c-${newId()}`;
      await m().apply('a', [
        { op: 'create', session: session(k) },
        { op: 'enqueue', key: k, item: item(1) },
      ]);
      await m().apply('b', [
        { op: 'create', session: session(k, { clientId: 'fresh', subscriptions: [] }) },
      ]);
      const t = await m().take(k, 'b', Date.now());
      assert.equal(t?.session.clientId, 'fresh');
      assert.deepEqual(t?.queue, []);
      await m().apply('b', [
        { op: 'enqueue', key: k, item: item(5) },
        { op: 'end', key: k },
      ]);
      assert.equal(await m().take(k, 'b', Date.now()), undefined);
    });

    it('a failed batch changes nothing (all or none)', async () => {
      const k = `f-${newId()}`;
      await m().apply('a', [{ op: 'create', session: session(k) }]);
      await assert.rejects(
        m().apply('a', [
          { op: 'enqueue', key: k, item: item(1) },
          // A topic that is missing: NOT NULL refuses it.
          { op: 'enqueue', key: k, item: item(2, { topic: null as unknown as string }) },
        ]),
      );
      assert.deepEqual(await queueOf(m(), k, 'a'), []);
    });

    it('load ends expired sessions, returns the ones a node owns, and adopts all when asked', async () => {
      const now = Date.now();
      const mine = `l-${newId()}`;
      const other = `l-${newId()}`;
      const gone = `l-${newId()}`;
      await m().apply('x', [
        { op: 'create', session: session(mine, { expiresAt: now + 60_000 }) },
        { op: 'enqueue', key: mine, item: item(1) },
        { op: 'create', session: session(gone, { expiresAt: now - 1 }) },
        { op: 'enqueue', key: gone, item: item(1) },
      ]);
      await m().apply('y', [{ op: 'create', session: session(other) }]);
      const r = await m().load('x', now, false);
      assert.ok(r.ended >= 1);
      const keys = r.sessions.map((x) => x.session.key);
      assert.ok(keys.includes(mine) && !keys.includes(other) && !keys.includes(gone));
      assert.deepEqual(
        r.sessions.find((x) => x.session.key === mine)?.queue.map((q) => q.seq),
        [1],
      );
      assert.equal(await m().take(gone, 'x', now), undefined);
      const adopted = await m().load('z', now, true);
      const all = adopted.sessions.map((x) => x.session.key);
      assert.ok(all.includes(mine) && all.includes(other));
      assert.deepEqual((await m().apply('x', [{ op: 'end', key: mine }])).notOwned, [mine]);
    });

    it('take refuses (and deletes) a session that ended; expire deletes ended ones', async () => {
      const now = Date.now();
      const k1 = `e-${newId()}`;
      const k2 = `e-${newId()}`;
      await m().apply('a', [
        { op: 'create', session: session(k1, { expiresAt: now - 5 }) },
        { op: 'create', session: session(k2, { expiresAt: now - 5 }) },
        { op: 'enqueue', key: k2, item: item(1) },
      ]);
      assert.equal(await m().take(k1, 'a', now), undefined);
      assert.ok((await m().expire(now)) >= 1);
      assert.equal(await m().take(k2, 'a', now), undefined);
    });
  });
}
