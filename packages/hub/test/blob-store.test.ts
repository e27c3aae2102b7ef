import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobStoreContract, chunked } from '@bulwark/testkit';
import { FsBlobStore } from '../src/blob-store.js';

blobStoreContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-blobs-'));
  return { store: new FsBlobStore(join(dir, 'blobs')), close: () => rm(dir, { recursive: true }) };
});

describe('FsBlobStore on disk', () => {
  it('leaves no temp file behind after a refused write, and keeps blobs content-addressed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-blobs-'));
    try {
      const blobs = join(dir, 'blobs');
      const store = new FsBlobStore(blobs);
      const image = randomBytes(70_000);
      const sha256 = createHash('sha256').update(image).digest('hex');
      const bad = Buffer.from(image);
      bad[0] = (bad[0] ?? 0) ^ 1;
      await assert.rejects(store.put(chunked(bad), { length: image.length, sha256 }));
      assert.deepEqual(await readdir(join(blobs, 'tmp')), []);
      assert.deepEqual(await readdir(blobs), ['tmp']);

      // a stream that fails midway leaves nothing either
      async function* broken() {
        yield image.subarray(0, 1000);
        await Promise.resolve();
        throw new Error('connection reset');
      }
      await assert.rejects(store.put(broken(), { length: image.length, sha256 }), /reset/);
      assert.deepEqual(await readdir(join(blobs, 'tmp')), []);

      const key = await store.put(chunked(image), { length: image.length, sha256 });
      assert.deepEqual(await readdir(join(blobs, key.slice(0, 2))), [key]);
      assert.deepEqual(await readdir(join(blobs, 'tmp')), []);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
