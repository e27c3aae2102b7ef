/**
 * The contract every BlobStore adapter must pass: verified writes (length and SHA-256 checked
 * before anything is readable), range reads, stat and delete.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BlobStore } from '@bulwark/core';

/** Opens a fresh, empty store; `close` releases it (and removes what it wrote). */
export type OpenBlobStore = () => Promise<{ store: BlobStore; close: () => Promise<void> }>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Yields `data` in chunks of `size` bytes. */
export async function* chunked(data: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.byteLength; off += size) {
    await Promise.resolve();
    yield data.subarray(off, Math.min(off + size, data.byteLength));
  }
}

/** Reads a stream into one buffer. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code);
    return true;
  });
}

export function blobStoreContract(name: string, open: OpenBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let close: () => Promise<void>;
    const image = randomBytes(300_000);
    const expect = { length: image.byteLength, sha256: sha(image) };

    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(() => close());

    it('stores a blob whose length and hash match, keyed by its SHA-256', async () => {
      const key = await store.put(chunked(image), expect);
      assert.equal(key, expect.sha256);
      assert.deepEqual(await store.stat(key), { key, ...expect });
      const all = await store.get(key);
      assert.ok(all);
      assert.ok((await readAll(all)).equals(image));
    });

    it('is idempotent for the same content', async () => {
      const a = await store.put(chunked(image), expect);
      const b = await store.put(chunked(image, 4096), expect);
      assert.equal(a, b);
    });

    it('reads inclusive byte ranges, and the halves concatenate to the blob', async () => {
      const key = await store.put(chunked(image), expect);
      const mid = 123_457;
      const first = await store.get(key, { start: 0, end: mid - 1 });
      const rest = await store.get(key, { start: mid, end: image.byteLength - 1 });
      assert.ok(first && rest);
      const joined = Buffer.concat([await readAll(first), await readAll(rest)]);
      assert.equal(sha(joined), expect.sha256);
      const one = await store.get(key, { start: 10, end: 10 });
      assert.ok(one);
      assert.deepEqual([...(await readAll(one))], [image[10]]);
    });

    it('refuses a flipped byte and keeps nothing', async () => {
      const bad = Buffer.from(image);
      bad[1000] = (bad[1000] ?? 0) ^ 0xff;
      await rejectsWithCode(store.put(chunked(bad), expect), 'firmware_hash_mismatch');
      assert.equal(await store.stat(expect.sha256), undefined);
      assert.equal(await store.get(expect.sha256), undefined);
    });

    it('refuses a stream longer or shorter than promised and keeps nothing', async () => {
      const longer = Buffer.concat([image, Buffer.from([1])]);
      await rejectsWithCode(store.put(chunked(longer), expect), 'firmware_length_mismatch');
      await rejectsWithCode(
        store.put(chunked(image.subarray(1)), expect),
        'firmware_length_mismatch',
      );
      assert.equal(await store.stat(expect.sha256), undefined);
    });

    it('refuses malformed expectations', async () => {
      await rejectsWithCode(
        store.put(chunked(image), { length: -1, sha256: expect.sha256 }),
        'validation_failed',
      );
      await rejectsWithCode(
        store.put(chunked(image), { length: expect.length, sha256: '../etc/passwd' }),
        'validation_failed',
      );
    });

    it('stores an empty blob', async () => {
      const empty = new Uint8Array(0);
      const key = await store.put(chunked(empty), { length: 0, sha256: sha(empty) });
      assert.equal((await store.stat(key))?.length, 0);
    });

    it('answers undefined / false for unknown and malformed keys, and deletes', async () => {
      assert.equal(await store.stat('0'.repeat(64)), undefined);
      assert.equal(await store.get('../../x'), undefined);
      assert.equal(await store.delete('0'.repeat(64)), false);
      const key = await store.put(chunked(image), expect);
      assert.equal(await store.delete(key), true);
      assert.equal(await store.stat(key), undefined);
      assert.equal(await store.delete(key), false);
    });
  });
}
