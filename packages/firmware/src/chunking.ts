/**
 * Content-defined chunking for delta downloads (issue 6 item 4,
 * docs/decisions/0010-delta-downloads.md).
 *
 * FastCDC (Xia et al., USENIX ATC 2016) with a 32-bit gear rolling hash and normalized chunking. A
 * chunk starts with `fp = 0` and the sha256 of its bytes; bytes at positions `min` and later feed
 * `fp = (fp << 1) + GEAR[byte] (mod 2^32)`, so `fp` depends on the last 32 bytes only and a cut
 * point moves with the content around it, not with its offset. After the byte that makes the chunk
 * `L` bytes long (L > min) the chunk is cut when `fp & mask == 0`, with the harder mask
 * (log2(avg) + nc top bits) while L <= avg and the easier one (log2(avg) - nc top bits) after it,
 * which pulls chunk sizes towards `avg` (normalization level `nc`); it is always cut at L = max,
 * and the last chunk ends with the image. Skipping the first `min` bytes of each chunk is
 * FastCDC's cut-point skipping.
 *
 * The algorithm id names every parameter, e.g. `fastcdc-gear32-nc2-2k-8k-64k` (min 2 KiB, average
 * 8 KiB, max 64 KiB): a device that cannot parse an id refuses the index and downloads the whole
 * image. The gear table is 256 values of mulberry32 seeded with 0x42554c57 ("BULW"), see
 * `gearTable`.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ChunkIndex } from './release.js';

/** The chunking parameters an algorithm id stands for. */
export interface ChunkParams {
  /** Bytes every chunk but the last is longer than (no cut point is looked for before). */
  readonly min: number;
  /** The target average: a power of two; it sets the mask widths. */
  readonly avg: number;
  /** No chunk is longer. */
  readonly max: number;
  /** Normalization level: mask bits added before `avg`, removed after it. */
  readonly nc: number;
}

/** One entry of a chunk index. */
export type ChunkEntry = ChunkIndex['chunks'][number];

/** The default for images of 2-32 MiB (docs/decisions/0010 has the measurements behind it). */
export const DEFAULT_CHUNK_PARAMS: ChunkParams = { min: 2048, avg: 8192, max: 65536, nc: 2 };

/**
 * For images up to 2 MiB (microcontroller-class): smaller chunks reuse more, and the index is
 * still small (a few hundred chunks).
 */
export const SMALL_IMAGE_CHUNK_PARAMS: ChunkParams = { min: 1024, avg: 4096, max: 32768, nc: 2 };

/**
 * Most chunks an index may list. It bounds the signed metadata (about 100 bytes of JSON per chunk,
 * against the hub's 1 MiB metadata limit); `paramsForLength` keeps real images near 4096.
 */
export const MAX_INDEX_CHUNKS = 8192;

/** Largest `max` an id may ask for: a device holds one chunk in memory to check its hash. */
const MAX_CHUNK_LIMIT = 8 * 1024 * 1024;
const ALGORITHM =
  /^fastcdc-gear32-nc([0-3])-([1-9][0-9]{0,4})k-([1-9][0-9]{0,4})k-([1-9][0-9]{0,4})k$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The id of a parameter set, e.g. `fastcdc-gear32-nc2-2k-8k-64k`. */
export function chunkAlgorithm(p: ChunkParams): string {
  if (parseParams(p) === undefined) throw new RangeError('invalid chunking parameters');
  return `fastcdc-gear32-nc${p.nc}-${p.min / 1024}k-${p.avg / 1024}k-${p.max / 1024}k`;
}

/** The parameters an algorithm id stands for, or undefined when this code cannot chunk with it. */
export function parseChunkAlgorithm(id: string): ChunkParams | undefined {
  const m = ALGORITHM.exec(id);
  if (m === null) return undefined;
  return parseParams({
    nc: Number(m[1]),
    min: Number(m[2]) * 1024,
    avg: Number(m[3]) * 1024,
    max: Number(m[4]) * 1024,
  });
}

function parseParams(p: ChunkParams): ChunkParams | undefined {
  const bits = Math.log2(p.avg);
  const ok =
    Number.isInteger(p.nc) &&
    p.nc >= 0 &&
    p.nc <= 3 &&
    [p.min, p.avg, p.max].every((v) => Number.isSafeInteger(v) && v % 1024 === 0) &&
    Number.isInteger(bits) &&
    bits - p.nc >= 1 &&
    bits + p.nc <= 31 &&
    p.min >= 1024 &&
    p.min < p.avg &&
    p.avg < p.max &&
    p.max <= MAX_CHUNK_LIMIT;
  return ok ? { min: p.min, avg: p.avg, max: p.max, nc: p.nc } : undefined;
}

/**
 * Parameters for an image of `length` bytes: 1k/4k/32k up to 2 MiB, 2k/8k/64k up to 32 MiB, then
 * the average doubles (min = avg/4, max = 8·avg) so the index stays near 4096 chunks — a 512 MiB
 * image gets 32k/128k/1024k.
 */
export function paramsForLength(length: number): ChunkParams {
  if (length <= 2 * 1024 * 1024) return SMALL_IMAGE_CHUNK_PARAMS;
  let avg = DEFAULT_CHUNK_PARAMS.avg;
  while (length / avg > 4096 && avg < 1024 * 1024) avg *= 2;
  if (avg === DEFAULT_CHUNK_PARAMS.avg) return DEFAULT_CHUNK_PARAMS;
  return { min: avg / 4, avg, max: avg * 8, nc: DEFAULT_CHUNK_PARAMS.nc };
}

let gear: Int32Array | undefined;

/**
 * The gear table: GEAR[i] is the i-th output of mulberry32 seeded with 0x42554c57, where one step
 * is `s += 0x6d2b79f5; t = imul(s ^ s>>>15, s|1); t ^= t + imul(t ^ t>>>7, t|61); out = t ^ t>>>14`
 * (all 32-bit). Fixed forever for the `fastcdc-gear32` family: changing it changes every index.
 */
export function gearTable(): Int32Array {
  if (gear !== undefined) return gear;
  const g = new Int32Array(256);
  let s = 0x42554c57;
  for (let i = 0; i < 256; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    g[i] = t ^ (t >>> 14);
  }
  gear = g;
  return g;
}

/** A mask of the top `bits` bits of a 32-bit word (the gear hash's best-mixed bits). */
const topBits = (bits: number): number => (~0 << (32 - bits)) | 0;

/**
 * The streaming chunker: feed bytes with `push`, then `end`. Memory stays constant: each chunk is
 * hashed as it goes, never buffered.
 */
export class Chunker {
  private readonly gear = gearTable();
  private readonly maskS: number;
  private readonly maskL: number;
  /** Offset of the current chunk in the image. */
  private start = 0;
  /** Bytes in the current chunk so far. */
  private len = 0;
  private fp = 0;
  private hash: Hash = createHash('sha256');

  constructor(readonly params: ChunkParams) {
    const bits = Math.log2(params.avg);
    this.maskS = topBits(bits + params.nc);
    this.maskL = topBits(bits - params.nc);
  }

  /** Consumes `buf`; calls `emit` for each chunk that ends inside it. */
  push(buf: Uint8Array, emit: (c: ChunkEntry) => void): void {
    const { min, avg, max } = this.params;
    const g = this.gear;
    const n = buf.length;
    let from = 0; // where the current chunk's bytes start in buf
    let p = 0;
    while (p < n) {
      let len = this.len;
      let fp = this.fp;
      let cut = false;
      if (len < min) {
        const skip = Math.min(min - len, n - p);
        p += skip;
        len += skip;
      }
      // After byte p the chunk is len + 1 bytes long.
      if (len < avg) {
        const stop = Math.min(n, p + (avg - len));
        const mask = this.maskS;
        for (; p < stop; p++) {
          fp = ((fp << 1) + g[buf[p]!]!) | 0;
          if ((fp & mask) === 0) {
            p++;
            cut = true;
            break;
          }
        }
        len = this.len + (p - from);
      }
      if (!cut && len >= avg && len < max) {
        const stop = Math.min(n, p + (max - len));
        const mask = this.maskL;
        for (; p < stop; p++) {
          fp = ((fp << 1) + g[buf[p]!]!) | 0;
          if ((fp & mask) === 0) {
            p++;
            cut = true;
            break;
          }
        }
        len = this.len + (p - from);
      }
      if (len === max) cut = true;
      this.hash.update(buf.subarray(from, p));
      if (cut) {
        emit({ offset: this.start, length: len, sha256: this.hash.digest('hex') });
        this.start += len;
        this.len = 0;
        this.fp = 0;
        this.hash = createHash('sha256');
        from = p;
      } else {
        this.len = len;
        this.fp = fp;
      }
    }
  }

  /** Ends the image: emits the last chunk, if any bytes are left. */
  end(emit: (c: ChunkEntry) => void): void {
    if (this.len > 0)
      emit({ offset: this.start, length: this.len, sha256: this.hash.digest('hex') });
    this.start += this.len;
    this.len = 0;
    this.fp = 0;
    this.hash = createHash('sha256');
  }
}

/**
 * Chunks an image (a buffer or a stream of buffers, read once with constant memory besides the
 * index) into its content-defined chunk index. `algorithm` defaults to the one `paramsForLength`
 * picks for a buffer and to the default for a stream (whose length is not known up front).
 */
export async function chunkImage(
  source: AsyncIterable<Uint8Array> | Uint8Array,
  algorithm?: string,
): Promise<ChunkIndex> {
  const id =
    algorithm ??
    chunkAlgorithm(
      source instanceof Uint8Array ? paramsForLength(source.length) : DEFAULT_CHUNK_PARAMS,
    );
  const params = parseChunkAlgorithm(id);
  if (params === undefined) throw new RangeError(`unknown chunking algorithm '${id}'`);
  const chunker = new Chunker(params);
  const chunks: ChunkEntry[] = [];
  const emit = (c: ChunkEntry): void => {
    chunks.push(c);
  };
  if (source instanceof Uint8Array) chunker.push(source, emit);
  else for await (const buf of source) chunker.push(buf, emit);
  chunker.end(emit);
  return { algorithm: id, chunks };
}

/**
 * What is wrong with a chunk index for an image of `length` bytes, or undefined: the chunks must
 * tile the image exactly (first at 0, each where the previous ended, the last ending at `length`,
 * none empty), with lower-case sha256s, at most MAX_INDEX_CHUNKS of them, and a well-formed
 * algorithm id. An id this code cannot chunk with is NOT a problem here: such an index verifies,
 * and the device downloads the whole image.
 */
export function chunkIndexProblem(c: unknown, length: number): string | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return 'not an object';
  const { algorithm, chunks } = c as { algorithm?: unknown; chunks?: unknown };
  if (typeof algorithm !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,63}$/.test(algorithm))
    return 'algorithm must be 1-64 characters a-z 0-9 . -';
  if (!Array.isArray(chunks)) return 'chunks must be a list';
  if (chunks.length > MAX_INDEX_CHUNKS) return `more than ${MAX_INDEX_CHUNKS} chunks`;
  let at = 0;
  for (const [i, x] of (chunks as unknown[]).entries()) {
    if (typeof x !== 'object' || x === null) return `chunk ${i} is not an object`;
    const { offset, length: len, sha256 } = x as Record<string, unknown>;
    if (offset !== at) return `chunk ${i} starts at ${String(offset)}, not ${at}`;
    if (!Number.isSafeInteger(len) || (len as number) < 1)
      return `chunk ${i} length must be a positive integer`;
    if (typeof sha256 !== 'string' || !SHA256.test(sha256))
      return `chunk ${i} sha256 must be 64 lowercase hex digits`;
    at += len as number;
  }
  if (at !== length) return `chunks cover ${at} bytes, the image has ${length}`;
  return undefined;
}
