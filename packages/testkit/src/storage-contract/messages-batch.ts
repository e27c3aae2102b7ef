import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Envelope, Storage } from '@bulwark/core';
import { T0, envelopeFx, seedChannel, seedOrg } from './fixtures.js';

/** Every stored message of a channel, paged through with a small page size. */
async function all(s: Storage, orgId: string, channelId: string): Promise<Envelope[]> {
  const items: Envelope[] = [];
  let cursor: string | null = null;
  do {
    const page = await s.messages.query(orgId, channelId, {}, { limit: 37, cursor });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < 100_000);
  return items;
}

const byTimeThenId = (a: Envelope, b: Envelope): number =>
  a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * appendBatch as the BatchWriter drives it (decision 0019): several batches at once (as many as
 * the store allows), a retried batch racing its first attempt. Registered inside the
 * MessageStore suite (`s` is its storage).
 */
export function batchSuite(s: () => Storage): void {
  describe('appendBatch side by side', () => {
    it('keeps every id once and reads back in (received time, id) order, whatever order batches committed in', async () => {
      const org = await seedOrg(s());
      const a = await seedChannel(s(), org.id, { name: 'a' });
      const b = await seedChannel(s(), org.id, { name: 'b' });
      // 8 batches of 150, alternating channels; received times interleave across batches and
      // repeat (equal times are ordered by id).
      const batches = Array.from({ length: 8 }, (_, k) =>
        Array.from({ length: 150 }, (_, i) =>
          envelopeFx(org.id, (k % 2 === 0 ? a : b).id, { receivedAt: T0 + ((i * 8 + k) % 500) }),
        ),
      );
      // Every batch at once, and a retry of two of them (one reversed) racing the first attempt.
      const racing = [
        batches[0] ?? [],
        [...(batches[0] ?? [])].reverse(),
        ...batches.slice(1),
        batches[3] ?? [],
      ];
      await Promise.all(racing.map((batch) => s().messages.appendBatch(batch)));
      for (const channel of [a, b]) {
        const expected = batches
          .flat()
          .filter((e) => e.channelId === channel.id)
          .sort(byTimeThenId);
        const stored = await all(s(), org.id, channel.id);
        assert.equal(stored.length, 600, 'each envelope stored once');
        assert.deepEqual(
          stored.map((e) => e.id),
          expected.map((e) => e.id),
        );
        // The SenML values were not stored twice by the racing retry either.
        const count = await s().messages.aggregate(
          org.id,
          channel.id,
          { senmlName: 'temp', from: T0, to: T0 },
          60_000,
          'count',
        );
        assert.deepEqual(count, [{ start: T0, value: 600, count: 600 }]);
      }
    });

    it('a retried batch racing its first attempt in another row order neither fails nor doubles', async () => {
      const org = await seedOrg(s());
      const c = await seedChannel(s(), org.id);
      // Open the pool's connections first, so the two attempts really overlap.
      await Promise.all(Array.from({ length: 4 }, () => s().ping()));
      for (let round = 0; round < 3; round++) {
        const batch = Array.from({ length: 1500 }, (_, i) =>
          envelopeFx(org.id, c.id, { receivedAt: T0 + round * 10_000 + i }),
        );
        await Promise.all([
          s().messages.appendBatch(batch),
          s().messages.appendBatch([...batch].reverse()),
        ]);
      }
      assert.equal((await all(s(), org.id, c.id)).length, 4500);
    });

    it('a batch that fails beside others stores nothing of its own and does not disturb them', async () => {
      const org = await seedOrg(s());
      const a = await seedChannel(s(), org.id, { name: 'a' });
      const b = await seedChannel(s(), org.id, { name: 'b' });
      const good = Array.from({ length: 50 }, (_, i) =>
        envelopeFx(org.id, a.id, { receivedAt: T0 + i }),
      );
      const bad = Array.from({ length: 50 }, (_, i) =>
        envelopeFx(org.id, b.id, {
          receivedAt: T0 + i,
          ...(i === 25 ? { contentType: null as unknown as string } : {}),
        }),
      );
      const [okResult, badResult] = await Promise.allSettled([
        s().messages.appendBatch(good),
        s().messages.appendBatch(bad),
      ]);
      assert.equal(okResult?.status, 'fulfilled');
      assert.equal(badResult?.status, 'rejected');
      assert.equal((await all(s(), org.id, a.id)).length, 50);
      assert.deepEqual(await all(s(), org.id, b.id), []);
    });
  });
}
