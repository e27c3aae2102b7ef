/**
 * The filesystem BlobStore (the default): content-addressed files under `DIR/blobs/`. The key is
 * the blob's SHA-256, stored at `blobs/<first two hex>/<sha256>`. A write goes to a temp file in
 * `blobs/tmp/`, is hashed while it streams, fsync'd, and renamed into place only when length and
 * hash match; on any failure the temp file is removed, so nothing unverified is ever readable.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '@bulwark/protocol';
import type { BlobExpectation, BlobStat, BlobStore, ByteRange } from '@bulwark/core';

const KEY = /^[0-9a-f]{64}$/;

export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tmp: string;

  /** `dir` is the blobs directory itself (the hub passes `DIR/blobs`). */
  constructor(dir: string) {
    this.root = dir;
    this.tmp = join(dir, 'tmp');
  }

  async put(data: AsyncIterable<Uint8Array>, expect: BlobExpectation): Promise<string> {
    if (!Number.isSafeInteger(expect.length) || expect.length < 0) {
      throw new BulwarkError('validation_failed', 'blob length must be a non-negative integer');
    }
    const want = expect.sha256.toLowerCase();
    if (!KEY.test(want))
      throw new BulwarkError('validation_failed', 'sha256 must be 64 hex digits');
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    const tmpPath = join(this.tmp, `${randomUUID()}.part`);
    const file = await open(tmpPath, 'wx', 0o600);
    let kept = false;
    try {
      const hash = createHash('sha256');
      let written = 0;
      for await (const chunk of data) {
        written += chunk.byteLength;
        if (written > expect.length) {
          throw new BulwarkError(
            'firmware_length_mismatch',
            `the image is longer than the ${expect.length} bytes its metadata gives`,
            { extra: { expected: expect.length } },
          );
        }
        hash.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) {
          const { bytesWritten } = await file.write(chunk, off, chunk.byteLength - off);
          off += bytesWritten;
        }
      }
      if (written !== expect.length) {
        throw new BulwarkError(
          'firmware_length_mismatch',
          `the image has ${written} bytes; its metadata gives ${expect.length}`,
          { extra: { expected: expect.length, actual: written } },
        );
      }
      const got = hash.digest('hex');
      if (got !== want) {
        throw new BulwarkError('firmware_hash_mismatch', `the image's SHA-256 is ${got}`, {
          extra: { expected: want, actual: got },
        });
      }
      await file.sync();
      await file.close();
      const dir = join(this.root, want.slice(0, 2));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await rename(tmpPath, join(dir, want));
      kept = true;
      await syncDir(dir);
      return want;
    } finally {
      if (!kept) {
        await file.close().catch(() => undefined);
        await rm(tmpPath, { force: true });
      }
    }
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    const path = this.pathOf(key);
    if (!path) return undefined;
    const st = await stat(path).catch(notFound);
    return st ? { key, length: st.size, sha256: key } : undefined;
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const path = this.pathOf(key);
    if (!path) return undefined;
    const file = await open(path, 'r').catch(notFound);
    if (!file) return undefined;
    // The open handle keeps the content readable even if the blob is deleted meanwhile.
    return createReadStream('', {
      fd: file,
      ...(range ? { start: range.start, end: range.end } : {}),
    });
  }

  async delete(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    if (!path) return false;
    const existed = (await stat(path).catch(notFound)) !== undefined;
    await rm(path, { force: true });
    return existed;
  }

  private pathOf(key: string): string | undefined {
    return KEY.test(key) ? join(this.root, key.slice(0, 2), key) : undefined;
  }
}

function notFound(err: unknown): undefined {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw err;
}

/** fsync a directory so a rename into it survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
