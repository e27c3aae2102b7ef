import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  newId,
  type AggregateFn,
  type Bucket,
  type Envelope,
  type MessageQuery,
  type SenmlRecord,
  type Storage,
} from '@bulwark/core';
import { T0, envelopeFx, seedChannel, seedOrg } from './fixtures.js';

/** T0 in SenML seconds. */
const S = T0 / 1000;

/** MessageStore.aggregate, registered inside the MessageStore suite (`s` is its storage). */
export function aggregateSuite(s: () => Storage): void {
  describe('aggregate', () => {
    const setup = async () => {
      const org = await seedOrg(s());
      return { org, channel: await seedChannel(s(), org.id) };
    };
    const withRecords = (
      orgId: string,
      channelId: string,
      records: SenmlRecord[],
      over: Partial<Envelope> = {},
    ): Envelope => envelopeFx(orgId, channelId, { senml: records, ...over });

    /**
     * `temp` values by record time t (seconds after T0), in buckets of a minute:
     *   [T0, +60s):     10 @0, 20 @30, 30 @59.999 (received in the next minute)
     *   [+60s, +120s):  none (only `hum`) — omitted
     *   [+120s, +180s): 5 @120, -1 @150, 8 @170 and 7 @170 (equal times: the greater message
     *                   id, holding 7, is last)
     *   [+180s, +240s): 100 @180.1, 1 @239.9 (one message)
     * and outside [T0, T0 + 239.9s]: -1000 @-0.001 and 1000 @240.
     */
    const seed = async () => {
      const { org, channel } = await setup();
      const temp = (dt: number, v: number): SenmlRecord => ({ n: 'temp', v, t: S + dt });
      const at = (dt: number) => ({ receivedAt: T0 + dt * 1000 });
      const e = (records: SenmlRecord[], dt: number, over: Partial<Envelope> = {}) =>
        withRecords(org.id, channel.id, records, { ...at(dt), ...over });
      const publisher = { type: 'device' as const, id: newId() };
      const m6 = e([temp(170, 8)], 171);
      const m7 = e([temp(170, 7)], 171, { subtopic: 'x', publisher });
      const batch = [
        e([temp(0, 10), { n: 'hum', v: 40, t: S }], 1),
        e([temp(30, 20), { n: 'temp', vs: 'n/a', t: S + 31 }], 31),
        e([temp(59.999, 30)], 61),
        e([{ n: 'hum', v: 41, t: S + 90 }], 91),
        e([temp(120, 5), temp(150, -1)], 151, { subtopic: 'x', publisher }),
        m7,
        m6,
        e([temp(180.1, 100), temp(239.9, 1)], 240),
        e([temp(-0.001, -1000)], 0),
        e([temp(240, 1000)], 240),
      ];
      // The same name in another channel and another organization.
      const other = await seedChannel(s(), org.id);
      const foreign = await seedOrg(s());
      const foreignChannel = await seedChannel(s(), foreign.id);
      batch.push(withRecords(org.id, other.id, [temp(10, 999)], at(10)));
      batch.push(withRecords(foreign.id, foreignChannel.id, [temp(10, 999)], at(10)));
      await s().messages.appendBatch(batch);
      const run = (
        fn: AggregateFn,
        over: Partial<MessageQuery> = {},
        bucketMs = 60_000,
        orgId = org.id,
      ) =>
        s().messages.aggregate(
          orgId,
          channel.id,
          { senmlName: 'temp', from: T0, to: T0 + 239_900, ...over },
          bucketMs,
          fn,
        );
      return { run, foreign, publisher };
    };
    const M = 60_000;
    const buckets = (values: [number, number, number]): Bucket[] => [
      { start: T0, value: values[0], count: 3 },
      { start: T0 + 2 * M, value: values[1], count: 4 },
      { start: T0 + 3 * M, value: values[2], count: 2 },
    ];

    it('min, max, avg, count and last per epoch-aligned bucket; empty buckets omitted', async () => {
      const { run } = await seed();
      assert.deepEqual(await run('min'), buckets([10, -1, 1]));
      assert.deepEqual(await run('max'), buckets([30, 8, 100]));
      assert.deepEqual(await run('avg'), buckets([20, 4.75, 50.5]));
      assert.deepEqual(await run('count'), buckets([3, 4, 2]));
      assert.deepEqual(await run('last'), buckets([30, 7, 1]));
    });

    it('filters on the record time, buckets align to the epoch, not to `from`', async () => {
      const { run } = await seed();
      assert.deepEqual(await run('count', { from: T0 + 30_000, to: T0 + 150_000 }), [
        { start: T0, value: 2, count: 2 },
        { start: T0 + 2 * M, value: 2, count: 2 },
      ]);
      assert.deepEqual(await run('min', { from: T0 - 1, to: T0 + 240_000 }), [
        { start: T0 - M, value: -1000, count: 1 },
        ...buckets([10, -1, 1]),
        { start: T0 + 4 * M, value: 1000, count: 1 },
      ]);
      assert.deepEqual(await run('max', {}, 3_600_000), [{ start: T0, value: 100, count: 9 }]);
    });

    it('honours publisher and subtopic filters; unknown names and other orgs give nothing', async () => {
      const { run, foreign, publisher } = await seed();
      assert.deepEqual(await run('count', { publisherId: publisher.id }), [
        { start: T0 + 2 * M, value: 3, count: 3 },
      ]);
      assert.deepEqual(await run('last', { subtopic: 'x' }), [
        { start: T0 + 2 * M, value: 7, count: 3 },
      ]);
      assert.deepEqual(await run('count', { senmlName: 'nope' }), []);
      assert.deepEqual(await run('count', { senmlName: 'hum' }), [
        { start: T0, value: 1, count: 1 },
        { start: T0 + M, value: 1, count: 1 },
      ]);
      assert.deepEqual(await run('count', {}, M, foreign.id), []);
    });

    it('compares record times at microsecond precision (1.005 s is 1005 ms)', async () => {
      const { org, channel } = await setup();
      // 1.005 * 1000 is 1004.9999999999999 in binary floating point.
      await s().messages.appendBatch([
        withRecords(org.id, channel.id, [
          { n: 'x', v: 1, t: 1.0049 },
          { n: 'x', v: 2, t: 1.005 },
          { n: 'x', v: 3, t: 1.01 },
        ]),
      ]);
      const q = { senmlName: 'x', from: 1005, to: 1010 };
      assert.deepEqual(await s().messages.aggregate(org.id, channel.id, q, 5, 'min'), [
        { start: 1005, value: 2, count: 1 },
        { start: 1010, value: 3, count: 1 },
      ]);
      assert.deepEqual(
        await s().messages.aggregate(org.id, channel.id, { ...q, from: 0 }, 5, 'min'),
        [
          { start: 1000, value: 1, count: 1 },
          { start: 1005, value: 2, count: 1 },
          { start: 1010, value: 3, count: 1 },
        ],
      );
    });
  });
}
