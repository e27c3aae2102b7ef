import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter, newId, type Envelope, type MessageStore } from '@bulwark/core';

function envelope(): Envelope {
  return {
    id: newId(),
    orgId: 'o',
    channelId: 'c',
    subtopic: '',
    publisher: { type: 'device', id: 'd' },
    protocol: 'mqtt',
    contentType: 'application/octet-stream',
    receivedAt: Date.now(),
    payload: new Uint8Array([1]),
    origin: 'n',
  };
}

function fakeStore(opts: { fail?: boolean; delayMs?: number } = {}) {
  const batches: number[] = [];
  const store: Pick<MessageStore, 'appendBatch'> = {
    async appendBatch(envs) {
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
      if (opts.fail) throw new Error('disk full');
      batches.push(envs.length);
    },
  };
  return { store: store as MessageStore, batches };
}

describe('BatchWriter', () => {
  it('resolves each write only after its batch is committed, batching concurrent writes', async () => {
    const { store, batches } = fakeStore();
    const w = new BatchWriter(store, { maxBatch: 100, maxDelayMs: 5, maxQueue: 10_000 });
    await Promise.all(Array.from({ length: 250 }, () => w.write(envelope())));
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      250,
    );
    assert.ok(batches.length <= 4, `batches: ${batches.join(',')}`);
    assert.equal(w.stats.rows, 250);
  });
  it('rejects every write of a failed batch (nothing is acknowledged that was not stored)', async () => {
    const { store } = fakeStore({ fail: true });
    const w = new BatchWriter(store, { maxBatch: 10, maxDelayMs: 1, maxQueue: 100 });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => w.write(envelope())));
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(w.stats.failed, 5);
  });
  it('refuses writes visibly when its queue is full, instead of growing', async () => {
    const { store } = fakeStore({ delayMs: 50 });
    const w = new BatchWriter(store, { maxBatch: 10, maxDelayMs: 1, maxQueue: 20 });
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => w.write(envelope())));
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.length > 0);
    assert.ok(
      refused.every(
        (r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'quota_exceeded',
      ),
    );
    assert.equal(w.stats.refused, refused.length);
  });
  it('flushes on close and refuses writes afterwards', async () => {
    const { store, batches } = fakeStore();
    const w = new BatchWriter(store, { maxBatch: 1000, maxDelayMs: 10_000, maxQueue: 10_000 });
    const p = w.write(envelope());
    await w.close();
    await p;
    assert.deepEqual(batches, [1]);
    await assert.rejects(w.write(envelope()), /closed/);
  });
});
