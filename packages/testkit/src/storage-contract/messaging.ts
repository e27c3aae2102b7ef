import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { newId, type Channel, type ChannelConnection } from '@bulwark/core';
import { T0, channelFx, connectionFx, envelopeFx, seedChannel, seedOrg } from './fixtures.js';
import { rejectsWithCode, useStorage, type OpenStorage } from './harness.js';

/** Connections in a canonical order (the port leaves listConnections' order open). */
const sorted = (conns: readonly ChannelConnection[]): ChannelConnection[] =>
  [...conns].sort((a, b) =>
    `${a.channelId}/${a.clientType}/${a.clientId}`.localeCompare(
      `${b.channelId}/${b.clientType}/${b.clientId}`,
    ),
  );

/** ChannelStore: channels, their per-organization names, connections and retention listing. */
export function channelSuite(open: OpenStorage): void {
  describe('ChannelStore', () => {
    const s = useStorage(open);

    it('create then get returns the same record; an unknown id gives undefined', async () => {
      const org = await seedOrg(s());
      const channel = channelFx(org.id, { persisted: false, retentionDays: 30 });
      await s().channels.create(channel);
      assert.deepEqual(await s().channels.get(org.id, channel.id), channel);
      assert.equal(await s().channels.get(org.id, newId()), undefined);
    });

    it('a duplicate name in one organization fails with channel_name_taken; another org may reuse it', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      await seedChannel(s(), a.id, { name: 'telemetry' });
      await rejectsWithCode(
        s().channels.create(channelFx(a.id, { name: 'telemetry' })),
        'channel_name_taken',
      );
      const reused = await seedChannel(s(), b.id, { name: 'telemetry' });
      assert.deepEqual(await s().channels.get(b.id, reused.id), reused);
    });

    it('update changes name, persisted and retention (also back to null) and returns the channel', async () => {
      const org = await seedOrg(s());
      const channel = await seedChannel(s(), org.id);
      const patched = await s().channels.update(org.id, channel.id, {
        name: 'renamed',
        persisted: false,
        retentionDays: 7,
        contentType: 'application/senml+json',
      });
      const expected: Channel = {
        ...channel,
        name: 'renamed',
        persisted: false,
        retentionDays: 7,
        contentType: 'application/senml+json',
      };
      assert.deepEqual(patched, expected);
      assert.deepEqual(await s().channels.get(org.id, channel.id), expected);
      assert.deepEqual(await s().channels.update(org.id, channel.id, { retentionDays: null }), {
        ...expected,
        retentionDays: null,
      });
      assert.deepEqual(await s().channels.update(org.id, channel.id, {}), {
        ...expected,
        retentionDays: null,
      });
      assert.equal(await s().channels.update(org.id, newId(), { name: 'x' }), undefined);
    });

    it('renaming onto a taken name fails with channel_name_taken and changes nothing', async () => {
      const org = await seedOrg(s());
      const a = await seedChannel(s(), org.id);
      const b = await seedChannel(s(), org.id);
      await rejectsWithCode(
        s().channels.update(org.id, b.id, { name: a.name }),
        'channel_name_taken',
      );
      assert.deepEqual(await s().channels.get(org.id, b.id), b);
    });

    it('list pages through the organization’s channels in id order', async () => {
      const org = await seedOrg(s());
      await seedChannel(s(), (await seedOrg(s())).id);
      const all: Channel[] = [];
      for (let i = 0; i < 5; i++) all.push(await seedChannel(s(), org.id));
      const first = await s().channels.list(org.id, { limit: 2 });
      assert.deepEqual(first.items, all.slice(0, 2));
      const second = await s().channels.list(org.id, { limit: 2, cursor: first.nextCursor });
      assert.deepEqual(second.items, all.slice(2, 4));
      const third = await s().channels.list(org.id, { limit: 2, cursor: second.nextCursor });
      assert.deepEqual(third, { items: all.slice(4), nextCursor: null });
      assert.deepEqual(await s().channels.list(org.id, { limit: 5 }), {
        items: all,
        nextCursor: null,
      });
      for (const cursor of ['garbage', Buffer.from('not-an-id').toString('base64url')]) {
        await rejectsWithCode(s().channels.list(org.id, { limit: 2, cursor }), 'invalid_cursor');
      }
    });

    it('a channel of org A is invisible, unchangeable and undeletable through org B', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const channel = await seedChannel(s(), a.id);
      assert.equal(await s().channels.get(b.id, channel.id), undefined);
      assert.deepEqual(await s().channels.list(b.id, { limit: 10 }), {
        items: [],
        nextCursor: null,
      });
      assert.equal(await s().channels.update(b.id, channel.id, { name: 'stolen' }), undefined);
      assert.equal(await s().channels.delete(b.id, channel.id), false);
      assert.deepEqual(await s().channels.get(a.id, channel.id), channel);
    });

    it('connect stores a connection; connecting again replaces it; disconnect returns true once', async () => {
      const org = await seedOrg(s());
      const channel = await seedChannel(s(), org.id);
      const conn = connectionFx(org.id, channel.id);
      await s().channels.connect(conn);
      const get = () =>
        s().channels.getConnection(org.id, channel.id, conn.clientType, conn.clientId);
      assert.deepEqual(await get(), conn);
      const replaced = { ...conn, publish: false, subscribe: true, createdAt: T0 + 5 };
      await s().channels.connect(replaced);
      assert.deepEqual(await get(), replaced);
      assert.deepEqual(await s().channels.listConnections(org.id, channel.id), [replaced]);
      // The same id as an API key is another client.
      assert.equal(
        await s().channels.getConnection(org.id, channel.id, 'api_key', conn.clientId),
        undefined,
      );
      assert.equal(
        await s().channels.disconnect(org.id, channel.id, 'api_key', conn.clientId),
        false,
      );
      assert.equal(
        await s().channels.disconnect(org.id, channel.id, conn.clientType, conn.clientId),
        true,
      );
      assert.equal(await get(), undefined);
      assert.equal(
        await s().channels.disconnect(org.id, channel.id, conn.clientType, conn.clientId),
        false,
      );
    });

    it('listConnections lists one channel’s clients; listForClient one client’s channels', async () => {
      const org = await seedOrg(s());
      const c1 = await seedChannel(s(), org.id);
      const c2 = await seedChannel(s(), org.id);
      const c3 = await seedChannel(s(), org.id);
      const device = newId();
      const key = newId();
      const conns = [
        connectionFx(org.id, c1.id, { clientId: device }),
        connectionFx(org.id, c2.id, { clientId: device, subscribe: true }),
        connectionFx(org.id, c1.id, { clientType: 'api_key', clientId: key, publish: false }),
        connectionFx(org.id, c3.id, { clientType: 'api_key', clientId: device }),
        connectionFx(org.id, c3.id),
      ];
      for (const c of conns) await s().channels.connect(c);
      const [d1, d2, k1, k3, other] = conns as [
        ChannelConnection,
        ChannelConnection,
        ChannelConnection,
        ChannelConnection,
        ChannelConnection,
      ];
      assert.deepEqual(sorted(await s().channels.listConnections(org.id, c1.id)), sorted([d1, k1]));
      assert.deepEqual(
        sorted(await s().channels.listConnections(org.id, c3.id)),
        sorted([k3, other]),
      );
      assert.deepEqual(
        sorted(await s().channels.listForClient(org.id, 'device', device)),
        sorted([d1, d2]),
      );
      assert.deepEqual(await s().channels.listForClient(org.id, 'api_key', key), [k1]);
      assert.deepEqual(await s().channels.listForClient(org.id, 'device', key), []);
      assert.deepEqual(await s().channels.listConnections(org.id, newId()), []);
    });

    it('connections of org A are invisible and untouchable through org B', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const channel = await seedChannel(s(), a.id);
      const conn = connectionFx(a.id, channel.id);
      await s().channels.connect(conn);
      const { clientType, clientId } = conn;
      assert.equal(
        await s().channels.getConnection(b.id, channel.id, clientType, clientId),
        undefined,
      );
      assert.deepEqual(await s().channels.listConnections(b.id, channel.id), []);
      assert.deepEqual(await s().channels.listForClient(b.id, clientType, clientId), []);
      assert.equal(await s().channels.disconnect(b.id, channel.id, clientType, clientId), false);
      // A connection naming org B and org A's channel does not exist as far as A is concerned.
      await s()
        .channels.connect({ ...conn, orgId: b.id, publish: false, subscribe: true })
        .catch(() => undefined);
      assert.deepEqual(await s().channels.listConnections(a.id, channel.id), [conn]);
      assert.deepEqual(
        await s().channels.getConnection(a.id, channel.id, clientType, clientId),
        conn,
      );
    });

    it('delete removes the channel, its connections, messages and values; once', async () => {
      const org = await seedOrg(s());
      const channel = await seedChannel(s(), org.id);
      const kept = await seedChannel(s(), org.id);
      const conn = connectionFx(org.id, channel.id);
      const keptConn = connectionFx(org.id, kept.id, { clientId: conn.clientId });
      await s().channels.connect(conn);
      await s().channels.connect(keptConn);
      const gone = [envelopeFx(org.id, channel.id), envelopeFx(org.id, channel.id)];
      const stays = envelopeFx(org.id, kept.id);
      await s().messages.appendBatch([...gone, stays]);
      const agg = { senmlName: 'temp', from: T0 - 1000, to: T0 + 1000 };

      assert.equal(await s().channels.delete(org.id, channel.id), true);
      assert.equal(await s().channels.get(org.id, channel.id), undefined);
      assert.equal(
        await s().channels.getConnection(org.id, channel.id, conn.clientType, conn.clientId),
        undefined,
      );
      assert.deepEqual(await s().channels.listForClient(org.id, 'device', conn.clientId), [
        keptConn,
      ]);
      assert.deepEqual((await s().messages.query(org.id, channel.id, {}, { limit: 10 })).items, []);
      assert.deepEqual(await s().messages.aggregate(org.id, channel.id, agg, 60_000, 'count'), []);
      // The other channel keeps everything.
      assert.deepEqual((await s().messages.query(org.id, kept.id, {}, { limit: 10 })).items, [
        stays,
      ]);
      assert.equal(
        (await s().messages.aggregate(org.id, kept.id, agg, 60_000, 'count'))[0]?.count,
        1,
      );
      assert.equal(await s().channels.delete(org.id, channel.id), false);
    });

    it('listWithRetention lists channels with a retention period, across organizations', async () => {
      const a = await seedOrg(s());
      const b = await seedOrg(s());
      const r1 = await seedChannel(s(), a.id, { retentionDays: 30 });
      await seedChannel(s(), a.id);
      const r2 = await seedChannel(s(), b.id, { retentionDays: 1, persisted: false });
      const ours = (await s().channels.listWithRetention()).filter(
        (c) => c.id === r1.id || c.id === r2.id,
      );
      assert.deepEqual(
        ours.sort((x, y) => (x.id < y.id ? -1 : 1)),
        [r1, r2],
      );
      await s().channels.update(a.id, r1.id, { retentionDays: null });
      const ids = (await s().channels.listWithRetention()).map((c) => c.id);
      assert.ok(!ids.includes(r1.id));
      assert.ok(ids.includes(r2.id));
      for (const c of await s().channels.listWithRetention()) {
        assert.notEqual(c.retentionDays, null);
      }
    });
  });
}
