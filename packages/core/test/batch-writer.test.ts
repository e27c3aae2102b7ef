import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '@bulwark/protocol';
import {
  BatchWriter,
  newId,
  type BatchWriterOptions,
  type Envelope,
  type MessageStore,
} from '@bulwark/core';

function envelope(channelId = 'c', payloadBytes = 1): Envelope {
  return {
    id: newId(),
    orgId: 'o',
    channelId,
    subtopic: '',
    publisher: { type: 'device', id: 'd' },
    protocol: 'mqtt',
    contentType: 'application/octet-stream',
    receivedAt: Date.now(),
    payload: new Uint8Array(payloadBytes),
    origin: 'n',
  };
}

const OPTS: BatchWriterOptions = {
  maxBatch: 1000,
  maxBatchBytes: 64 * 1024 * 1024,
  maxQueue: 100_000,
  maxQueueBytes: 1024 * 1024 * 1024,
};

/** A store that records each batch, how many batches ran at once, and which channels overlapped. */
function fakeStore(
  opts: { delayMs?: () => number; fail?: (call: number) => boolean; concurrent?: number } = {},
) {
  const batches: Envelope[][] = [];
  const committed: Envelope[] = [];
  const inFlight = new Set<Envelope[]>();
  let calls = 0;
  let maxInFlight = 0;
  let overlaps = 0;
  const store: Pick<MessageStore, 'appendBatch' | 'concurrentBatches'> = {
    ...(opts.concurrent === undefined ? {} : { concurrentBatches: opts.concurrent }),
    async appendBatch(envs) {
      const call = ++calls;
      const batch = [...envs];
      const channels = new Set(batch.map((e) => e.channelId));
      for (const other of inFlight) if (other.some((e) => channels.has(e.channelId))) overlaps++;
      inFlight.add(batch);
      maxInFlight = Math.max(maxInFlight, inFlight.size);
      try {
        await new Promise((r) => setTimeout(r, opts.delayMs?.() ?? 1));
        if (opts.fail?.(call)) throw new Error('disk full');
        batches.push(batch);
        committed.push(...batch);
      } finally {
        inFlight.delete(batch);
      }
    },
  };
  return {
    store: store as MessageStore,
    batches,
    committed,
    sizes: () => batches.map((b) => b.length),
    maxInFlight: () => maxInFlight,
    overlaps: () => overlaps,
  };
}

describe('BatchWriter', () => {
  it('writes at once when idle: no timer stands between a write and its commit', async () => {
    // setTimeout is frozen: a writer that waited for a batch window would never write.
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const batches: number[] = [];
      const store = {
        async appendBatch(envs: readonly Envelope[]) {
          batches.push(envs.length);
        },
      } as MessageStore;
      const w = new BatchWriter(store, OPTS);
      await w.write(envelope());
      await w.write(envelope());
      assert.deepEqual(batches, [1, 1]);
    } finally {
      mock.timers.reset();
    }
  });

  it('writes what arrived in one turn as one batch, capped by maxBatch', async () => {
    const f = fakeStore();
    const w = new BatchWriter(f.store, { ...OPTS, maxBatch: 1000 });
    await Promise.all(Array.from({ length: 2500 }, () => w.write(envelope())));
    assert.deepEqual(f.sizes(), [1000, 1000, 500]);
    assert.equal(w.stats.rows, 2500);
    assert.equal(w.stats.batches, 3);
  });

  it('caps a batch by bytes, and writes an envelope larger than the cap alone', async () => {
    const f = fakeStore();
    // Each 1,000-byte envelope counts 1,128 bytes: four fit in 5,000.
    const w = new BatchWriter(f.store, { ...OPTS, maxBatchBytes: 5000 });
    const big = envelope('c', 20_000);
    await Promise.all(
      [...Array.from({ length: 10 }, () => envelope('c', 1000)), big].map((e) => w.write(e)),
    );
    assert.deepEqual(f.sizes(), [4, 4, 2, 1]);
    assert.equal(f.batches[3]?.[0], big);
  });

  it('under load, gathers what arrives while a batch is in flight into large batches', async () => {
    const f = fakeStore({ delayMs: () => 5 });
    const w = new BatchWriter(f.store, OPTS);
    // 200 closed-loop writers, 10 writes each: each writes again once its last write committed.
    const writer = async () => {
      for (let i = 0; i < 10; i++) await w.write(envelope());
    };
    await Promise.all(Array.from({ length: 200 }, writer));
    const sizes = f.sizes();
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      2000,
    );
    assert.ok(sizes.length <= 20, `batches: ${sizes.join(',')}`);
    assert.ok(Math.min(...sizes) >= 100, `batches: ${sizes.join(',')}`);
  });

  it('runs batches of different channels side by side and keeps each channel in write order', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) % 6) + 0.5;
    const f = fakeStore({ delayMs: random, concurrent: 4 });
    const w = new BatchWriter(f.store, { ...OPTS, maxBatch: 7 });
    const written: Envelope[] = [];
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 30; i++) {
        const e = envelope(`ch${(i * 7 + round) % 6}`);
        written.push(e);
        writes.push(w.write(e));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(writes);
    assert.equal(f.committed.length, written.length);
    assert.ok(f.maxInFlight() > 1, 'several batches were in flight at once');
    assert.ok(f.maxInFlight() <= 4, 'never more than the store allows');
    assert.equal(f.overlaps(), 0, 'batches in flight together never share a channel');
    for (let c = 0; c < 6; c++) {
      const of = (list: Envelope[]) =>
        list.filter((e) => e.channelId === `ch${c}`).map((e) => e.id);
      assert.deepEqual(of(f.committed), of(written), `channel ch${c} committed in write order`);
    }
  });

  it('a failed batch rejects exactly its own writers; the batches around it commit', async () => {
    const f = fakeStore({ delayMs: () => 3, fail: (call) => call === 2 });
    const w = new BatchWriter(f.store, OPTS);
    const first = Array.from({ length: 5 }, () => w.write(envelope()));
    await new Promise((r) => setImmediate(r)); // batch 1 is in flight
    const second = Array.from({ length: 5 }, () => w.write(envelope()));
    await Promise.all(first); // batch 2 (the one that fails) is now in flight
    const third = Array.from({ length: 5 }, () => w.write(envelope()));
    const settled = await Promise.allSettled([...second, ...third]);
    const outcome = settled.map((r) => r.status);
    assert.deepEqual(outcome, [
      ...Array<string>(5).fill('rejected'),
      ...Array<string>(5).fill('fulfilled'),
    ]);
    const reason = (settled[0] as PromiseRejectedResult).reason as BulwarkError;
    assert.ok(reason instanceof BulwarkError);
    assert.equal(reason.code, 'unavailable');
    assert.match(String((reason.cause as Error).message), /disk full/);
    assert.deepEqual(f.sizes(), [5, 5]);
    assert.equal(w.stats.failed, 5);
    assert.equal(w.stats.rows, 10);
  });

  it('refuses writes visibly when its queue is full (count or bytes), instead of growing', async () => {
    const f = fakeStore({ delayMs: () => 20 });
    const w = new BatchWriter(f.store, { ...OPTS, maxBatch: 10, maxQueue: 20 });
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => w.write(envelope())));
    const refused = results.filter((r) => r.status === 'rejected');
    // The first 20 wait, the other 40 are refused before anything was written.
    assert.equal(refused.length, 40);
    assert.ok(
      refused.every(
        (r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'quota_exceeded',
      ),
    );
    assert.equal(w.stats.refused, 40);
    assert.equal(f.committed.length, 20, 'a refused envelope is never stored');

    const g = fakeStore({ delayMs: () => 20 });
    const byBytes = new BatchWriter(g.store, { ...OPTS, maxQueueBytes: 3 * 1128 });
    const sized = await Promise.allSettled(
      Array.from({ length: 5 }, () => byBytes.write(envelope('c', 1000))),
    );
    assert.deepEqual(
      sized.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
    );
  });

  it('asks producers to wait from its high-water mark and lets them go at half of it', async () => {
    const f = fakeStore({ delayMs: () => 10 });
    const w = new BatchWriter(f.store, { ...OPTS, maxBatch: 10, maxQueue: 100, highWater: 40 });
    assert.equal(w.pressure(), undefined, 'an empty writer holds no one back');
    // A producer that honours pressure() never meets the queue limit, however much it has to send.
    let produced = 0;
    let waits = 0;
    let peak = 0;
    const writes: Promise<void>[] = [];
    const deadline = Date.now() + 10_000;
    while (produced < 500 && Date.now() < deadline) {
      writes.push(w.write(envelope()));
      produced++;
      peak = Math.max(peak, w.stats.queued);
      const behind = w.pressure();
      if (behind !== undefined) {
        waits++;
        assert.equal(w.pressure(), behind, 'every waiter shares one promise');
        await behind;
        assert.ok(w.stats.queued <= 20, `let go at ${w.stats.queued} waiting, above half the mark`);
      }
    }
    await Promise.all(writes);
    assert.equal(produced, 500);
    assert.ok(waits > 0, 'the producer was held back');
    assert.ok(peak <= 40, `the queue peaked at ${peak}, above the high-water mark`);
    assert.equal(w.stats.refused, 0, 'nothing refused');
    assert.equal(f.committed.length, 500);
    assert.equal(w.stats.pressured, waits);
  });

  it('lets waiting producers go when it closes', async () => {
    const f = fakeStore({ delayMs: () => 50 });
    const w = new BatchWriter(f.store, { ...OPTS, maxBatch: 1, maxQueue: 10, highWater: 2 });
    const writes = Array.from({ length: 4 }, () => w.write(envelope()));
    const behind = w.pressure();
    assert.ok(behind !== undefined);
    let released = false;
    void behind.then(() => (released = true));
    const closed = w.close();
    await new Promise((r) => setImmediate(r));
    assert.ok(released, 'a producer waiting on pressure is not stranded by close');
    await closed;
    await Promise.all(writes);
  });

  it('close refuses new writes and resolves only once everything accepted is committed', async () => {
    const f = fakeStore({ delayMs: () => 5, concurrent: 2 });
    const w = new BatchWriter(f.store, { ...OPTS, maxBatch: 10 });
    const accepted = Array.from({ length: 95 }, (_, i) => w.write(envelope(`ch${i % 3}`)));
    await new Promise((r) => setImmediate(r));
    const closing = w.close();
    await assert.rejects(w.write(envelope()), /closed/);
    await closing;
    assert.equal(f.committed.length, 95, 'nothing accepted was left behind');
    assert.equal(w.stats.queued, 0);
    assert.equal(w.stats.inFlight, 0);
    await Promise.all(accepted);
    await assert.rejects(w.write(envelope()), (err: BulwarkError) => err.code === 'unavailable');
  });
});
