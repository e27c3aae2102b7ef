import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import {
  newId,
  type Envelope,
  type MessageQuery,
  type SenmlRecord,
  type Storage,
} from '@bulwark/core';
import { T0, envelopeFx, seedChannel, seedOrg } from './fixtures.js';
import { rejectsWithCode, useStorage, type OpenStorage } from './harness.js';
import { aggregateSuite } from './messages-aggregate.js';
import { batchSuite } from './messages-batch.js';

/** T0 in SenML seconds. */
const S = T0 / 1000;

/** Every page of a query with page size `limit`, asserting each page honours the limit. */
async function queryAll(
  s: Storage,
  orgId: string,
  channelId: string,
  q: MessageQuery,
  limit: number,
): Promise<Envelope[]> {
  const items: Envelope[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await s.messages.query(orgId, channelId, q, { limit, cursor });
    assert.ok(page.items.length <= limit, 'a page is never larger than its limit');
    items.push(...page.items);
    cursor = page.nextCursor;
    assert.ok(++pages < 1000, 'pagination must terminate');
  } while (cursor !== null);
  return items;
}

/** An envelope whose SenML records are `records` (name, value, time in seconds). */
const withRecords = (
  orgId: string,
  channelId: string,
  records: SenmlRecord[],
  over: Partial<Envelope> = {},
): Envelope => envelopeFx(orgId, channelId, { senml: records, ...over });

/** An envelope that is not SenML (no `senml` key at all). */
const opaque = (orgId: string, channelId: string, over: Partial<Envelope> = {}): Envelope => {
  const e = envelopeFx(orgId, channelId, { contentType: 'application/octet-stream', ...over });
  delete e.senml;
  return e;
};

const ids = (envelopes: readonly Envelope[]): string[] => envelopes.map((e) => e.id);

/** MessageStore: appendBatch, query, aggregate, deleteBefore. */
export function messageSuite(open: OpenStorage): void {
  describe('MessageStore', () => {
    const s = useStorage(open);
    const setup = async () => {
      const org = await seedOrg(s());
      const channel = await seedChannel(s(), org.id);
      return { org, channel };
    };

    it('stores envelopes and returns them identical, SenML records included', async () => {
      const { org, channel } = await setup();
      const senml = withRecords(org.id, channel.id, [
        { n: 'urn:dev:1:temp', u: 'Cel', v: 21.123456789, t: S + 0.123456, ut: 60 },
        { n: 'urn:dev:1:label', vs: 'héllo ✓ "quoted"', t: S },
        { n: 'urn:dev:1:on', vb: false, t: S + 1 },
        { n: 'urn:dev:1:blob', vd: 'AQID_-8', t: S + 2 },
        { n: 'urn:dev:1:energy', u: 'J', s: 1234.5, t: S + 3 },
        { n: 'urn:dev:1:neg', v: -0.000001, t: 0.5 },
      ]);
      const binary = opaque(org.id, channel.id, {
        receivedAt: T0 + 1,
        subtopic: 'a/b',
        publisher: { type: 'api_key', id: newId() },
        protocol: 'http',
        payload: Uint8Array.from({ length: 256 }, (_, i) => i),
      });
      const empty = withRecords(org.id, channel.id, [], {
        receivedAt: T0 + 2,
        payload: new Uint8Array(0),
        protocol: 'coap',
        origin: 'node-b',
      });
      await s().messages.appendBatch([senml, binary, empty]);
      const page = await s().messages.query(org.id, channel.id, {}, { limit: 10 });
      assert.deepEqual(page, { items: [senml, binary, empty], nextCursor: null });
      assert.equal('senml' in (page.items[1] ?? {}), false, 'no senml key for non-SenML');
      await s().messages.appendBatch([]);
    });

    it('a repeated id is ignored, in a retried batch and within one batch', async () => {
      const { org, channel } = await setup();
      const a = envelopeFx(org.id, channel.id);
      const b = envelopeFx(org.id, channel.id, { receivedAt: T0 + 1 });
      const c = envelopeFx(org.id, channel.id, { receivedAt: T0 + 2 });
      await s().messages.appendBatch([a, b]);
      await s().messages.appendBatch([a, b, c]);
      const d = envelopeFx(org.id, channel.id, { receivedAt: T0 + 3 });
      const record: SenmlRecord = { n: 'temp', v: 99, t: S };
      const dAgain = { ...d, payload: new Uint8Array([9]), senml: [record, record] };
      await s().messages.appendBatch([d, dAgain]);
      assert.deepEqual((await s().messages.query(org.id, channel.id, {}, { limit: 10 })).items, [
        a,
        b,
        c,
        d,
      ]);
      // Values were not stored twice either: one temp record per message.
      const buckets = await s().messages.aggregate(
        org.id,
        channel.id,
        { senmlName: 'temp', from: T0, to: T0 },
        60_000,
        'count',
      );
      assert.deepEqual(buckets, [{ start: T0, value: 4, count: 4 }]);
    });

    it('a batch with an invalid row stores nothing', async () => {
      const { org, channel } = await setup();
      const good = envelopeFx(org.id, channel.id);
      const bad = envelopeFx(org.id, channel.id, { contentType: null as unknown as string });
      const alsoGood = envelopeFx(org.id, channel.id, { receivedAt: T0 + 1 });
      await assert.rejects(s().messages.appendBatch([good, bad, alsoGood]));
      assert.deepEqual((await s().messages.query(org.id, channel.id, {}, { limit: 10 })).items, []);
      assert.deepEqual(
        await s().messages.aggregate(
          org.id,
          channel.id,
          { senmlName: 'temp', from: T0 - 1, to: T0 + 1 },
          1000,
          'count',
        ),
        [],
      );
      // Nothing of the failed batch lingers: its good envelopes can be stored afterwards.
      await s().messages.appendBatch([good, alsoGood]);
      assert.deepEqual((await s().messages.query(org.id, channel.id, {}, { limit: 10 })).items, [
        good,
        alsoGood,
      ]);
    });

    describe('query', () => {
      const seed = async () => {
        const { org, channel } = await setup();
        const p1 = newId();
        const p2 = newId();
        const temp = (t: number): SenmlRecord => ({ n: 'temp', v: 20, t });
        const hum = (t: number): SenmlRecord => ({ n: 'hum', v: 50, t });
        const q1 = withRecords(org.id, channel.id, [temp(S)], {
          publisher: { type: 'device', id: p1 },
        });
        const q2 = withRecords(org.id, channel.id, [hum(S)], {
          receivedAt: T0 + 10,
          subtopic: 'a',
          publisher: { type: 'device', id: p2 },
        });
        const q3 = opaque(org.id, channel.id, {
          receivedAt: T0 + 20,
          subtopic: 'a/b',
          publisher: { type: 'device', id: p1 },
        });
        const q4 = withRecords(org.id, channel.id, [temp(S), hum(S)], {
          receivedAt: T0 + 30,
          subtopic: 'a',
          publisher: { type: 'device', id: p1 },
        });
        // Noise that matches every filter, in another channel and another organization.
        const other = await seedChannel(s(), org.id);
        const foreign = await seedOrg(s());
        const foreignChannel = await seedChannel(s(), foreign.id);
        const noise = [other.id, foreignChannel.id].map((channelId) =>
          withRecords(channelId === other.id ? org.id : foreign.id, channelId, [temp(S), hum(S)], {
            receivedAt: T0 + 10,
            subtopic: 'a',
            publisher: { type: 'device', id: p1 },
          }),
        );
        await s().messages.appendBatch([q4, q2, ...noise, q1, q3]);
        return { org, channel, foreign, p1, p2, q: [q1, q2, q3, q4] as const };
      };

      it('filters by time (inclusive), publisher, exact subtopic and SenML name', async () => {
        const { org, channel, p1, p2, q } = await seed();
        const [q1, q2, q3, q4] = q;
        const list = async (filter: MessageQuery) =>
          ids((await s().messages.query(org.id, channel.id, filter, { limit: 100 })).items);
        assert.deepEqual(await list({}), ids([q1, q2, q3, q4]));
        assert.deepEqual(await list({ from: T0 + 10, to: T0 + 20 }), ids([q2, q3]));
        assert.deepEqual(await list({ from: T0 + 11 }), ids([q3, q4]));
        assert.deepEqual(await list({ to: T0 + 9 }), ids([q1]));
        assert.deepEqual(await list({ publisherId: p1 }), ids([q1, q3, q4]));
        assert.deepEqual(await list({ publisherId: p2 }), ids([q2]));
        assert.deepEqual(await list({ subtopic: 'a' }), ids([q2, q4]));
        assert.deepEqual(await list({ subtopic: '' }), ids([q1]));
        assert.deepEqual(await list({ subtopic: 'a/b' }), ids([q3]));
        assert.deepEqual(await list({ subtopic: 'a/%' }), []);
        assert.deepEqual(await list({ senmlName: 'hum' }), ids([q2, q4]));
        assert.deepEqual(await list({ senmlName: 'temp' }), ids([q1, q4]));
        assert.deepEqual(await list({ senmlName: 'nope' }), []);
        assert.deepEqual(
          await list({ publisherId: p1, subtopic: 'a', senmlName: 'hum', from: T0, to: T0 + 30 }),
          ids([q4]),
        );
      });

      it('messages of org A are invisible through org B and through another channel', async () => {
        const { org, channel, foreign } = await seed();
        assert.deepEqual(await s().messages.query(foreign.id, channel.id, {}, { limit: 10 }), {
          items: [],
          nextCursor: null,
        });
        assert.deepEqual((await s().messages.query(org.id, newId(), {}, { limit: 10 })).items, []);
      });
    });

    it('orders by received time, then id, and pages stably across equal times', async () => {
      const { org, channel } = await setup();
      // Made first but received last; then five with one receivedAt, appended out of order.
      const late = envelopeFx(org.id, channel.id, { receivedAt: T0 + 50 });
      const early = envelopeFx(org.id, channel.id, { receivedAt: T0 + 10 });
      const ties = Array.from({ length: 5 }, () =>
        envelopeFx(org.id, channel.id, { receivedAt: T0 + 20 }),
      );
      const [t0, t1, t2, t3, t4] = ties as [Envelope, Envelope, Envelope, Envelope, Envelope];
      const expected = [early, ...ties, late];
      await s().messages.appendBatch([late, t3, t0, early]);
      await s().messages.appendBatch([t4, t1, t2]);
      for (const limit of [1, 2, 3, 7, 8]) {
        assert.deepEqual(
          ids(await queryAll(s(), org.id, channel.id, {}, limit)),
          ids(expected),
          `limit ${limit}`,
        );
      }
      const first = await s().messages.query(org.id, channel.id, {}, { limit: 3 });
      assert.deepEqual(first.items, expected.slice(0, 3));
      const rest = await s().messages.query(
        org.id,
        channel.id,
        {},
        {
          limit: 4,
          cursor: first.nextCursor,
        },
      );
      assert.deepEqual(rest, { items: expected.slice(3), nextCursor: null });
      assert.deepEqual(
        ids(await queryAll(s(), org.id, channel.id, { from: T0 + 20, to: T0 + 20 }, 2)),
        ids(ties),
      );
    });

    it('a malformed cursor fails with invalid_cursor', async () => {
      const { org, channel } = await setup();
      await s().messages.appendBatch([envelopeFx(org.id, channel.id)]);
      const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
      for (const cursor of [
        'not a cursor!',
        'garbage',
        b64(newId()),
        b64('m12.not-an-id'),
        b64(`m012.${newId()}`),
        b64(`m1e3.${newId()}`),
        b64("x' OR 1=1 --"),
      ]) {
        await rejectsWithCode(
          s().messages.query(org.id, channel.id, {}, { limit: 10, cursor }),
          'invalid_cursor',
        );
      }
    });

    aggregateSuite(s);
    batchSuite(s);

    it('deleteBefore removes a channel’s messages received before the instant, with their values', async () => {
      const { org, channel } = await setup();
      const other = await seedChannel(s(), org.id);
      const foreign = await seedOrg(s());
      const m = [0, 10, 20].map((dt) => envelopeFx(org.id, channel.id, { receivedAt: T0 + dt }));
      const kept = envelopeFx(org.id, other.id);
      await s().messages.appendBatch([...m, kept]);
      const count = () =>
        s().messages.aggregate(
          org.id,
          channel.id,
          { senmlName: 'temp', from: T0, to: T0 },
          60_000,
          'count',
        );
      assert.equal(await s().messages.deleteBefore(foreign.id, channel.id, T0 + 1000), 0);
      assert.equal(await s().messages.deleteBefore(org.id, channel.id, T0 + 20), 2);
      assert.deepEqual((await s().messages.query(org.id, channel.id, {}, { limit: 10 })).items, [
        m[2],
      ]);
      assert.deepEqual(await count(), [{ start: T0, value: 1, count: 1 }]);
      assert.equal(await s().messages.deleteBefore(org.id, channel.id, T0 + 20), 0);
      assert.deepEqual((await s().messages.query(org.id, other.id, {}, { limit: 10 })).items, [
        kept,
      ]);
    });

    it('appends 5,000 envelopes in batches of 1,000 quickly', async (t) => {
      const { org, channel } = await setup();
      const N = 5000;
      const envelopes = Array.from({ length: N }, (_, i) =>
        withRecords(
          org.id,
          channel.id,
          [
            { n: 'temp', u: 'Cel', v: 20 + (i % 10), t: S + i },
            { n: 'hum', u: '%RH', v: 40 + (i % 7), t: S + i },
            { n: 'status', vs: 'ok', t: S + i },
          ],
          { receivedAt: T0 + i, payload: new Uint8Array(64).fill(i % 256) },
        ),
      );
      const started = performance.now();
      for (let i = 0; i < N; i += 1000) {
        await s().messages.appendBatch(envelopes.slice(i, i + 1000));
      }
      const ms = performance.now() - started;
      t.diagnostic(
        `appendBatch: ${N} envelopes (${3 * N} SenML records) in ${ms.toFixed(0)} ms = ` +
          `${Math.round((N / ms) * 1000)} envelopes/s`,
      );
      // Expected well under a second; the bound is generous so a loaded machine does not flake.
      assert.ok(ms < 10_000, `appending ${N} envelopes took ${ms.toFixed(0)} ms`);
      const total = await s().messages.aggregate(
        org.id,
        channel.id,
        { senmlName: 'temp', from: T0, to: T0 + N * 1000 },
        86_400_000,
        'count',
      );
      assert.deepEqual(total, [{ start: T0, value: N, count: N }]);
    });
  });
}
