/**
 * Two hub processes sharing PostgreSQL and NATS JetStream form a cluster: a message published to
 * node A (HTTP or MQTT) reaches an MQTT subscriber on node B, stored once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startClusterPair, type TestHub } from './helpers.js';
import { connectTls, nextMessages, publish, subscribe } from './mqtt-helpers.js';

const skip = (await requirePostgres()) || (await requireNats());
const schemas = withPostgresSchemas();

// Bounded: a cluster problem must fail the run, not hang it.
describe('a two-node cluster on PostgreSQL and NATS', { skip, timeout: 60_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let pub: { id: string; key: string };
  let sub: { id: string; key: string };

  before(async () => {
    ({ a, b } = await startClusterPair(schemas, 'cluster'));
    s = await setupOwner(b);
    channelId = (
      await s.api.call('createChannel', {
        body: { name: `cluster-${randomBytes(3).toString('hex')}` },
      })
    ).id;
    const mk = async (name: string, rights: { publish: boolean; subscribe: boolean }) => {
      const d = await s.api.devices.create({ name, type: 'sensor' });
      const { key } = await s.api.devices.createKey(d.id);
      await s.api.call('connectClient', {
        params: { id: channelId },
        body: { clientType: 'device', clientId: d.id, ...rights },
      });
      return { id: d.id, key };
    };
    pub = await mk('pub', { publish: true, subscribe: false });
    sub = await mk('sub', { publish: false, subscribe: true });
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a message published to node A over HTTP and over MQTT reaches a subscriber on node B, stored once', async () => {
    const onB = await connectTls(b, { clientId: sub.id, username: sub.id, password: sub.key });
    const onA = await connectTls(a, { clientId: pub.id, username: pub.id, password: pub.key });
    try {
      assert.deepEqual(await subscribe(onB, `channels/${channelId}/messages/#`), [1]);
      const got = nextMessages(onB, 2, 10_000);
      const res = await a.fetchWith()(`${a.url}/api/v1/channels/${channelId}/messages/http`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${pub.id}:${pub.key}`).toString('base64')}`,
          'content-type': 'text/plain',
        },
        body: 'via http on A',
      });
      assert.equal(res.status, 202);
      assert.equal(await publish(onA, `channels/${channelId}/messages/mqtt`, 'via mqtt on A'), 0);
      const msgs = (await got)
        .map((m) => `${m.topic.split('/').pop()}:${m.payload.toString()}`)
        .sort();
      assert.deepEqual(msgs, ['http:via http on A', 'mqtt:via mqtt on A']);
      const stored = await s.api.call('listMessages', { params: { id: channelId }, query: {} });
      assert.equal(stored.items.length, 2);
    } finally {
      onA.end(true);
      onB.end(true);
    }
  });

  it('revoking a device key on node A cuts the device’s live session on node B within seconds', async () => {
    const d = await s.api.devices.create({ name: 'revoked-elsewhere', type: 'sensor' });
    const { key, deviceKey } = await s.api.devices.createKey(d.id);
    await s.api.call('connectClient', {
      params: { id: channelId },
      body: { clientType: 'device', clientId: d.id, publish: true, subscribe: true },
    });
    const onB = await connectTls(b, { clientId: d.id, username: d.id, password: key });
    const closed = new Promise<number>((resolve, reject) => {
      const t0 = Date.now();
      const timer = setTimeout(
        () => reject(new Error('the session on node B was not cut within 10 s')),
        10_000,
      );
      onB.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - t0);
      });
    });
    await a.client(s.apiKey).devices.revokeKey(d.id, deviceKey.id);
    const ms = await closed;
    assert.ok(ms < 5000, `cut after ${ms} ms`);
    onB.end(true);
  });

  /** Resolves with how long until the client was closed (rejects after `ms`). */
  const cutWithin = (c: { once(e: 'close', f: () => void): unknown }, ms: number) => {
    const t0 = Date.now();
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not cut within ${ms} ms`)), ms);
      c.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - t0);
      });
    });
  };

  it('quarantining a device on node A cuts its live session on node B within 2 s; back, it has no channel data', async () => {
    const d = await s.api.devices.create({ name: 'quarantined-elsewhere', type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.call('connectClient', {
      params: { id: channelId },
      body: { clientType: 'device', clientId: d.id, publish: true, subscribe: true },
    });
    const onB = await connectTls(b, { clientId: d.id, username: d.id, password: key });
    const cut = cutWithin(onB, 2000);
    await a.client(s.apiKey).devices.update(d.id, { state: 'quarantined' });
    const ms = await cut;
    const again = await connectTls(b, { clientId: d.id, username: d.id, password: key });
    try {
      assert.equal(await publish(again, `channels/${channelId}/messages/q`, 'x'), 0x87);
    } finally {
      again.end(true);
    }
    assert.ok(ms < 2000, `cut after ${ms} ms`);
  });

  it('revoking an API key on node A cuts its live MQTT session on node B within 2 s', async () => {
    const r = await s.api.apiKeys.create({ name: 'cluster-app', permissions: ['devices:read'] });
    const onB = await connectTls(b, { clientId: 'cluster-app', username: 'app', password: r.key });
    const cut = cutWithin(onB, 2000);
    await a.client(s.apiKey).apiKeys.revoke(r.apiKey.id);
    assert.ok((await cut) < 2000);
  });
});
