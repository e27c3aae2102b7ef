/**
 * Delta downloads: the new image's bytes come out in order and exact, chunks the running slot
 * already holds are copied (and re-checked), the rest is fetched in coalesced ranges, and anything
 * unusable about the index or the slots means a plain full download.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkImage, type ChunkIndex } from '@bulwark/firmware';
import { DirFiles } from '../src/files/dir-files.js';
import { imageSource } from '../src/update/delta.js';
import type { RangeFetcher } from '../src/update/range-fetch.js';
import { DirectorySlots } from '../src/update/directory-slots.js';
import { Installer } from '../src/update/installer.js';
import type {
  BootControl,
  BootInfo,
  SlotManifest,
  SlotName,
  SlotStore,
} from '../src/update/slots.js';
import { releaseOf, TestSigner } from './update-fixtures.js';

/** Deterministic pseudo-random bytes (xorshift32): firmware content that does not compress. */
function noise(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Just enough of a SlotStore for reading images; `onRead` sees each readImage call. */
class MemorySlots implements SlotStore {
  readonly images = new Map<SlotName, Buffer>();
  reads = 0;
  onRead: (n: number) => void = () => undefined;
  failReads = false;

  readManifest(slot: SlotName): Promise<SlotManifest | undefined> {
    const img = this.images.get(slot);
    return Promise.resolve(img && { ...releaseOf(img, '1.0.0', 1) });
  }
  imageSize(slot: SlotName): Promise<number> {
    return Promise.resolve(this.images.get(slot)?.length ?? 0);
  }
  async *readImage(slot: SlotName): AsyncIterable<Uint8Array> {
    this.onRead(++this.reads);
    if (this.failReads) throw new Error('EIO: slot read failed');
    const img = this.images.get(slot) ?? Buffer.alloc(0);
    for (let at = 0; at < img.length; at += 5000) yield img.subarray(at, at + 5000);
  }
  readControl(): Promise<BootControl> {
    return Promise.reject(new Error('not used'));
  }
  writeControl(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }
  booted(): Promise<BootInfo> {
    return Promise.reject(new Error('not used'));
  }
  writeManifest(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }
  truncateImage(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }
  writeImage(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }
}

/** A RangeFetcher over `image` that counts what it sends and can misbehave. */
function server(image: Buffer, opts: { ignoreEnd?: boolean; cutAt?: number } = {}) {
  const s = {
    ignoresEnd: opts.ignoreEnd === true,
    calls: [] as [number, number | undefined][],
    sent: 0,
    open: 0,
    fetch: async function* (offset: number, end?: number) {
      s.calls.push([offset, end]);
      s.open++;
      try {
        const stop = Math.min(
          opts.ignoreEnd === true || end === undefined ? image.length : end + 1,
          opts.cutAt ?? Infinity,
        );
        for (let at = offset; at < stop; at += 16384) {
          const piece = image.subarray(at, Math.min(at + 16384, stop));
          s.sent += piece.length;
          yield piece;
        }
      } finally {
        s.open--;
      }
    } as RangeFetcher,
  };
  return s;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

const OLD = noise(1 << 20, 42);
/** A realistic small change: 100 bytes patched in place, 3000 inserted, a version string longer. */
const NEW = Buffer.concat([
  Buffer.from('FW 1.2.1\n'),
  OLD.subarray(9, 200_000),
  noise(100, 7),
  OLD.subarray(200_100, 700_000),
  noise(3000, 8),
  OLD.subarray(700_000),
]);

async function run(
  next: Buffer,
  opts: {
    slots?: SlotStore;
    index?: ChunkIndex | undefined;
    from?: number;
    srv?: ReturnType<typeof server>;
  } = {},
) {
  let slots = opts.slots;
  if (slots === undefined) {
    const mem = new MemorySlots();
    mem.images.set('a', OLD);
    slots = mem;
  }
  const srv = opts.srv ?? server(next);
  const index = 'index' in opts ? opts.index : await chunkImage(next);
  const from = opts.from ?? 0;
  const src = imageSource({
    index,
    slots,
    reuse: ['a'],
    fetch: srv.fetch,
    from,
    length: next.length,
  });
  const out = await collect(src.chunks);
  assert.equal(sha(out), sha(next.subarray(from)), 'the output is the new image');
  const saving = src.saving();
  assert.equal(saving.totalBytes, next.length - from);
  assert.equal(saving.downloadedBytes + saving.reusedBytes, saving.totalBytes);
  // Each fetch is read only as far as needed (a server ignoring the end sends one piece more).
  const slack = srv.ignoresEnd ? srv.calls.length * 16384 : 0;
  assert.ok(srv.sent >= saving.downloadedBytes && srv.sent <= saving.downloadedBytes + slack);
  assert.equal(srv.open, 0, 'every fetch was closed');
  return { saving, srv };
}

describe('imageSource (delta downloads)', () => {
  test('an unchanged image is copied entirely from the running slot', async () => {
    const { saving, srv } = await run(OLD);
    assert.equal(saving.downloadedBytes, 0);
    assert.equal(srv.calls.length, 0);
  });

  test('a small change fetches only the changed chunks, in one range per changed region', async () => {
    const { saving, srv } = await run(NEW);
    assert.ok(saving.downloadedBytes > 3100, `${saving.downloadedBytes}`);
    assert.ok(saving.downloadedBytes < NEW.length * 0.06, `${saving.downloadedBytes}`);
    assert.ok(srv.calls.length >= 1 && srv.calls.length <= 3, JSON.stringify(srv.calls));
    for (const [offset, end] of srv.calls) assert.ok(end !== undefined && end >= offset);
  });

  test('a local chunk that no longer matches its hash is fetched instead', async () => {
    const mem = new MemorySlots();
    const local = Buffer.from(OLD);
    mem.images.set('a', local);
    // Indexing reads the slot once; the copy reads see a flipped byte.
    mem.onRead = (n) => {
      if (n === 2) local.writeUInt8(local.readUInt8(400_000) ^ 0x01, 400_000);
    };
    const clean = await run(NEW);
    const { saving } = await run(NEW, { slots: mem });
    assert.ok(mem.reads >= 2);
    assert.ok(saving.downloadedBytes > clean.saving.downloadedBytes);
    assert.ok(saving.downloadedBytes < clean.saving.downloadedBytes + 65536);
  });

  test('resumes from any offset, also inside a chunk', async () => {
    for (const from of [1, 123_457, 700_001, NEW.length - 1, NEW.length]) {
      const { saving } = await run(NEW, { from });
      assert.ok(saving.downloadedBytes <= NEW.length - from);
    }
  });

  test('no index, an unknown algorithm or an index that does not fit: one full fetch', async () => {
    const index = await chunkImage(NEW);
    for (const bad of [
      undefined,
      { ...index, algorithm: 'fastcdc-gear64-2k-8k-64k' },
      { ...index, chunks: index.chunks.slice(1) },
    ]) {
      const { saving, srv } = await run(NEW, { index: bad, from: 1000 });
      assert.equal(saving.reusedBytes, 0);
      assert.deepEqual(srv.calls, [[1000, NEW.length - 1]]);
    }
  });

  test('a slot that cannot be read: one full fetch', async () => {
    const mem = new MemorySlots();
    mem.images.set('a', OLD);
    mem.failReads = true;
    const { saving, srv } = await run(NEW, { slots: mem });
    assert.equal(saving.reusedBytes, 0);
    assert.equal(srv.calls.length, 1);
  });

  test('a server that sends past the range end: only the range is read, then the fetch is closed', async () => {
    const srv = server(NEW, { ignoreEnd: true });
    const { saving } = await run(NEW, { srv });
    assert.ok(saving.downloadedBytes < NEW.length * 0.06);
    assert.ok(srv.sent > saving.downloadedBytes, 'the server did send more');
  });

  test('a server that stops short is an error, not a shifted image', async () => {
    const srv = server(NEW, { cutAt: 500_000 });
    const src = imageSource({
      index: undefined,
      slots: new MemorySlots(),
      reuse: ['a'],
      fetch: srv.fetch,
      from: 0,
      length: NEW.length,
    });
    await assert.rejects(collect(src.chunks), /ended at byte 500000/);
  });

  test('content moved from the end to the start is still reused (the slot is read again)', async () => {
    const moved = Buffer.concat([OLD.subarray(800_000), OLD.subarray(0, 800_000)]);
    const mem = new MemorySlots();
    mem.images.set('a', OLD);
    const { saving } = await run(moved, { slots: mem });
    assert.ok(saving.reusedBytes > moved.length * 0.9, `${saving.reusedBytes}`);
    assert.ok(mem.reads <= 4, `${mem.reads} reads`);
  });

  test('an abort stops the download, also while the slots are being indexed', async () => {
    const ac = new AbortController();
    const mem = new MemorySlots();
    mem.images.set('a', OLD);
    mem.onRead = () => ac.abort();
    const srv = server(NEW);
    const src = imageSource({
      index: await chunkImage(NEW),
      slots: mem,
      reuse: ['a'],
      fetch: srv.fetch,
      from: 0,
      length: NEW.length,
      signal: ac.signal,
    });
    await assert.rejects(collect(src.chunks), { name: 'AbortError' });
    assert.equal(srv.calls.length, 0, 'no full download after an abort');
  });

  test('bad arguments are refused up front', () => {
    const base = { slots: new MemorySlots(), reuse: ['a'] as SlotName[], fetch: server(NEW).fetch };
    assert.throws(() => imageSource({ ...base, from: 11, length: 10 }), RangeError);
    assert.throws(() => imageSource({ ...base, from: -1, length: 10 }), RangeError);
  });

  test('through the installer on real slot files: the new slot verifies, most bytes reused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-delta-'));
    try {
      const slots = await DirectorySlots.open(join(dir, 'slots'));
      await slots.installFactory('a', OLD, releaseOf(OLD, '1.2.0', 1));
      await slots.boot();
      const signer = new TestSigner();
      const installer = await Installer.open({
        slots,
        files: await DirFiles.open(join(dir, 'state')),
        verifySignature: signer.check,
      });
      await installer.resume();
      const release = signer.sign(releaseOf(NEW, '1.2.1', 2));
      const begun = await installer.begin(release);
      const srv = server(NEW);
      const src = imageSource({
        index: await chunkImage(NEW),
        slots,
        reuse: [(await slots.booted()).slot],
        fetch: srv.fetch,
        from: begun.offset,
        length: NEW.length,
      });
      for await (const piece of src.chunks) await installer.writeChunk(piece);
      const verified = await installer.verify();
      assert.equal(verified.state, 'installing', verified.reason);
      const saving = src.saving();
      assert.ok(saving.reusedBytes > NEW.length * 0.94, JSON.stringify(saving));
      assert.equal(saving.downloadedBytes, srv.sent);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
