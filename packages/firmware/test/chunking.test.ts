/**
 * Content-defined chunking: deterministic, tiling the image, within its size limits, resistant to
 * shifted content, the same streamed or whole; and a chunk index that travels signed in the release
 * metadata, refused when malformed or tampered with.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chunkAlgorithm,
  chunkImage,
  chunkIndexProblem,
  createRelease,
  DEFAULT_CHUNK_PARAMS,
  expiryAfter,
  gearTable,
  paramsForLength,
  parseChunkAlgorithm,
  parseRelease,
  signMetadata,
  SMALL_IMAGE_CHUNK_PARAMS,
  verifyRelease,
  type ChunkIndex,
} from '@bulwark/firmware';
import { json, keySet } from './helpers.js';

const ALG = 'fastcdc-gear32-nc2-2k-8k-64k';

/** Deterministic pseudo-random bytes (xorshift32), like compressed firmware content. */
function noise(size: number, seed = 1): Buffer {
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

/** Bytes of `next` that lie in chunks whose hash `prev` also has. */
function reused(prev: ChunkIndex, next: ChunkIndex): number {
  const have = new Set(prev.chunks.map((c) => c.sha256));
  return next.chunks.filter((c) => have.has(c.sha256)).reduce((n, c) => n + c.length, 0);
}

async function* pieces(b: Uint8Array, sizes: number[]): AsyncIterable<Uint8Array> {
  let at = 0;
  for (let i = 0; at < b.length; i++) {
    const n = sizes[i % sizes.length] ?? 1;
    yield b.subarray(at, at + n);
    at += n;
  }
}

/**
 * The cut rule as the module doc states it, byte by byte and unoptimized: a second reading of the
 * spec to hold the fast loop to.
 */
function referenceCuts(img: Uint8Array, p: { min: number; avg: number; max: number; nc: number }) {
  const g = gearTable();
  const bits = Math.log2(p.avg);
  const top = (n: number) => (~0 << (32 - n)) | 0;
  const cuts: number[] = [];
  let len = 0;
  let fp = 0;
  for (const byte of img) {
    len++;
    if (len > p.min) {
      fp = ((fp << 1) + g[byte]!) | 0;
      const mask = len <= p.avg ? top(bits + p.nc) : top(bits - p.nc);
      if ((fp & mask) === 0 || len === p.max) {
        cuts.push(len);
        len = 0;
        fp = 0;
      }
    }
  }
  if (len > 0) cuts.push(len);
  return cuts;
}

function assertTiles(index: ChunkIndex, img: Uint8Array): void {
  let at = 0;
  for (const c of index.chunks) {
    assert.equal(c.offset, at);
    assert.equal(c.sha256, sha(img.subarray(c.offset, c.offset + c.length)));
    at += c.length;
  }
  assert.equal(at, img.length);
  assert.equal(chunkIndexProblem(index, img.length), undefined);
}

describe('chunkImage', () => {
  test('the algorithm id names the parameters; unknown ids are not chunkable', () => {
    assert.equal(chunkAlgorithm(DEFAULT_CHUNK_PARAMS), ALG);
    assert.deepEqual(parseChunkAlgorithm(ALG), DEFAULT_CHUNK_PARAMS);
    assert.deepEqual(parseChunkAlgorithm('fastcdc-gear32-nc1-4k-16k-128k'), {
      min: 4096,
      avg: 16384,
      max: 131072,
      nc: 1,
    });
    for (const id of [
      'fastcdc-gear64-2k-8k-64k',
      'fastcdc-gear32-nc2-2k-10k-64k', // avg not a power of two
      'fastcdc-gear32-nc2-8k-8k-64k', // min not below avg
      'fastcdc-gear32-nc2-2k-8k-8k', // max not above avg
      'fastcdc-gear32-nc4-2k-8k-64k',
      'fastcdc-gear32-nc2-2k-8k-16384k', // a chunk larger than a device should buffer
      'rabin-2k-8k-64k',
      '',
    ]) {
      assert.equal(parseChunkAlgorithm(id), undefined, id);
    }
    assert.throws(() => chunkAlgorithm({ min: 1024, avg: 3000, max: 9000, nc: 2 }), RangeError);
  });

  test('deterministic: a fixed gear table and a pinned index of a fixed image', async () => {
    const g = gearTable();
    assert.equal(g.length, 256);
    assert.equal(new Set(g).size, 256);
    assert.equal(gearTable(), g);
    assert.deepEqual([...g.slice(0, 4)], [-498117656, 1524450253, -704602845, 174820946]);
    const img = noise(256 * 1024, 7);
    const a = await chunkImage(img, ALG);
    const b = await chunkImage(Buffer.from(img), ALG);
    assert.deepEqual(a, b);
    assertTiles(a, img);
    for (const [i, params] of [
      DEFAULT_CHUNK_PARAMS,
      { min: 1024, avg: 4096, max: 8192, nc: 0 },
      { min: 4096, avg: 16384, max: 131072, nc: 3 },
    ].entries()) {
      const sample = i === 0 ? img : noise(200_000, i);
      const index = await chunkImage(sample, chunkAlgorithm(params));
      assert.deepEqual(
        index.chunks.map((c) => c.length),
        referenceCuts(sample, params),
      );
    }
    // Pinned: any change to the gear table or the cut rule changes this and breaks every index.
    assert.equal(a.chunks.length, 30);
    assert.equal(sha(Buffer.from(JSON.stringify(a))).slice(0, 16), '7fa15226fc4e7abb');
  });

  test('every chunk but the last is longer than min and at most max; the mean is near avg', async () => {
    const { min, avg, max } = DEFAULT_CHUNK_PARAMS;
    for (const img of [noise(1 << 20, 3), Buffer.alloc(300_000), Buffer.alloc(300_000, 0xa5)]) {
      const index = await chunkImage(img, ALG);
      assertTiles(index, img);
      const body = index.chunks.slice(0, -1);
      for (const c of body) assert.ok(c.length > min && c.length <= max, `length ${c.length}`);
      if (img[0] !== img[1]) {
        const mean = img.length / index.chunks.length;
        assert.ok(mean > avg * 0.75 && mean < avg * 1.5, `mean ${mean}`);
      }
    }
    // Constant bytes never hit the mask: every chunk is cut at max.
    const zeros = await chunkImage(Buffer.alloc(300_000), ALG);
    assert.deepEqual(
      zeros.chunks.slice(0, -1).map((c) => c.length),
      Array.from({ length: zeros.chunks.length - 1 }, () => max),
    );
  });

  test('empty and short images', async () => {
    assert.deepEqual(await chunkImage(new Uint8Array(0), ALG), { algorithm: ALG, chunks: [] });
    assert.equal(chunkIndexProblem({ algorithm: ALG, chunks: [] }, 0), undefined);
    for (const n of [1, 100, 2048, 2049]) {
      const img = noise(n, n);
      const index = await chunkImage(img, ALG);
      assert.equal(index.chunks.length, 1, `${n} bytes`);
      assertTiles(index, img);
    }
  });

  test('streamed in any pieces, the index is the same as of the whole buffer', async () => {
    const img = noise(400_000, 11);
    const whole = await chunkImage(img, ALG);
    for (const sizes of [[1], [7, 4096, 1, 65536], [65536], [400_000], [2047, 2049, 8191]]) {
      const streamed = await chunkImage(pieces(img, sizes), ALG);
      assert.deepEqual(streamed, whole, `pieces ${sizes.join(',')}`);
    }
  });

  test('shift resistant: bytes inserted at the start or in the middle leave most chunks reused', async () => {
    const old = noise(1 << 20, 5);
    const prev = await chunkImage(old, ALG);
    const atStart = Buffer.concat([Buffer.from('version 1.2.1\n'), old]);
    const middle = Buffer.concat([old.subarray(0, 500_000), noise(3000, 9), old.subarray(500_000)]);
    for (const next of [atStart, middle]) {
      const index = await chunkImage(next, ALG);
      const fresh = next.length - reused(prev, index);
      // One edit disturbs the chunk it lands in and perhaps a neighbour: well under 5 %.
      assert.ok(fresh < next.length * 0.05, `${fresh} fresh bytes`);
      assert.ok(fresh > 0);
    }
    // Fixed-size blocks, for contrast, lose everything after an insert at the start.
    const blocks = (b: Buffer) =>
      new Set(
        Array.from({ length: b.length >> 13 }, (_, i) => sha(b.subarray(i << 13, (i + 1) << 13))),
      );
    const before = blocks(old);
    assert.equal([...blocks(atStart)].filter((h) => before.has(h)).length, 0);
  });

  test('the default parameters grow with the image so the index stays small', () => {
    assert.deepEqual(paramsForLength(1 << 20), SMALL_IMAGE_CHUNK_PARAMS);
    assert.deepEqual(paramsForLength(2 << 20), SMALL_IMAGE_CHUNK_PARAMS);
    assert.deepEqual(paramsForLength((2 << 20) + 1), DEFAULT_CHUNK_PARAMS);
    assert.deepEqual(paramsForLength(32 << 20), DEFAULT_CHUNK_PARAMS);
    assert.equal(chunkAlgorithm(paramsForLength(64 << 20)), 'fastcdc-gear32-nc2-4k-16k-128k');
    assert.equal(chunkAlgorithm(paramsForLength(512 << 20)), 'fastcdc-gear32-nc2-32k-128k-1024k');
  });
});

describe('chunk index in signed release metadata', () => {
  const spec = (img: Buffer, chunkIndex?: ChunkIndex) => ({
    name: 'fw.img',
    types: ['rpi4'],
    hardware: [],
    version: '1.2.0',
    releaseCounter: 3,
    length: img.length,
    sha256: sha(img),
    expires: expiryAfter(3600),
    ...(chunkIndex === undefined ? {} : { chunkIndex }),
  });

  test('it is signed with the release and verifyRelease returns it', async () => {
    const ks = keySet();
    const img = noise(100_000, 2);
    const index = await chunkImage(img, ALG);
    const meta = json(signMetadata(createRelease(spec(img, index)), ks.releaseKeys).toJSON());
    const r = verifyRelease(meta, ks.root, {
      now: new Date(),
      image: { length: img.length, sha256: sha(img) },
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.release.chunkIndex, index);
    const plain = json(signMetadata(createRelease(spec(img)), ks.releaseKeys).toJSON());
    const p = verifyRelease(plain, ks.root, { now: new Date() });
    assert.ok(p.ok);
    assert.equal(p.release.chunkIndex, undefined);
  });

  test('a tampered index fails the signature', async () => {
    const ks = keySet();
    const img = noise(100_000, 2);
    const index = await chunkImage(img, ALG);
    const meta = json(signMetadata(createRelease(spec(img, index)), ks.releaseKeys).toJSON());
    type T = {
      custom: { bulwark: { chunkIndex: { chunks: { sha256: string }[]; algorithm: string } } };
    };
    const tampers: ((t: T) => void)[] = [
      (t) => {
        const c = t.custom.bulwark.chunkIndex.chunks[1]!;
        c.sha256 = sha(Buffer.from('evil'));
      },
      (t) => {
        t.custom.bulwark.chunkIndex.algorithm = 'fastcdc-gear32-nc1-2k-8k-64k';
      },
    ];
    for (const tamper of tampers) {
      const copy = json(meta) as { signed: { targets: Record<string, T> } };
      tamper(copy.signed.targets['fw.img']!);
      const r = verifyRelease(copy, ks.root, { now: new Date() });
      assert.equal(r.ok ? 'accepted' : r.reason, 'bad_signature');
    }
  });

  test('a malformed index is refused by createRelease and, when signed anyway, by verification', async () => {
    const ks = keySet();
    const img = noise(50_000, 4);
    const good = await chunkImage(img, ALG);
    const [first, ...rest] = good.chunks;
    assert.ok(first && rest.length > 0);
    const bad: [string, unknown, RegExp][] = [
      [
        'a gap',
        { ...good, chunks: [first, ...rest.map((c) => ({ ...c, offset: c.offset + 1 }))] },
        /starts at/,
      ],
      ['short of the image', { ...good, chunks: good.chunks.slice(0, -1) }, /cover \d+ bytes/],
      ['an empty chunk', { ...good, chunks: [{ ...first, length: 0 }, ...rest] }, /positive/],
      ['a bad hash', { ...good, chunks: [{ ...first, sha256: 'ABC' }, ...rest] }, /sha256/],
      ['no algorithm', { chunks: good.chunks }, /algorithm/],
      ['not an object', [], /not an object/],
    ];
    for (const [what, chunkIndex, why] of bad) {
      assert.throws(() => createRelease(spec(img, chunkIndex as ChunkIndex)), why, what);
      // Sign it by hand, bypassing createRelease.
      const raw = json(createRelease(spec(img)).toJSON()) as {
        signed: { targets: Record<string, { custom: { bulwark: Record<string, unknown> } }> };
      };
      raw.signed.targets['fw.img']!.custom.bulwark.chunkIndex = chunkIndex;
      const meta = json(signMetadata(parseRelease(raw), ks.releaseKeys).toJSON());
      const r = verifyRelease(meta, ks.root, { now: new Date() });
      assert.equal(r.ok ? 'accepted' : r.reason, 'malformed', what);
      assert.match(r.ok ? '' : r.message, /chunkIndex is malformed/);
    }
  });

  test('an index with an algorithm this code cannot chunk with still verifies (the device downloads it all)', async () => {
    const ks = keySet();
    const img = noise(20_000, 6);
    const index = { ...(await chunkImage(img, ALG)), algorithm: 'future-cdc-v9' };
    const meta = json(signMetadata(createRelease(spec(img, index)), ks.releaseKeys).toJSON());
    const r = verifyRelease(meta, ks.root, { now: new Date() });
    assert.ok(r.ok);
    assert.equal(r.release.chunkIndex?.algorithm, 'future-cdc-v9');
    assert.equal(parseChunkAlgorithm('future-cdc-v9'), undefined);
  });
});
