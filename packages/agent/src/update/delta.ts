/**
 * Delta downloads (issue 6 item 4, docs/decisions/0010-delta-downloads.md): the new image's bytes,
 * in order, each content-defined chunk (from the signed chunk index) either copied from a slot that
 * already holds it or fetched. A slot is indexed with the new index's algorithm; a copied chunk is
 * hashed again and must match the signed sha256, else it is fetched. Consecutive fetched chunks are
 * one ranged request. Without a usable index, or when indexing the slots fails, the whole image is
 * fetched. Fetched bytes are not checked here: the installer checks the whole image's length and
 * sha256 (and the signature) as for any download.
 */
import { createHash } from 'node:crypto';
import {
  Chunker,
  chunkIndexProblem,
  parseChunkAlgorithm,
  type ChunkEntry,
  type ChunkIndex,
} from '@bulwark/firmware';
import type { DeltaSaving } from '@bulwark/protocol';
import type { RangeFetcher } from './range-fetch.js';
import type { ChunkStash } from './scratch.js';
import type { SlotName, SlotStore } from './slots.js';

/** What `imageSource` reads from. */
export interface ImageSourceOptions {
  /** The new image's chunk index, from its verified release metadata. */
  index?: ChunkIndex | undefined;
  slots: SlotStore;
  /** Slots whose images may hold chunks of the new image (normally the running slot). */
  reuse: readonly SlotName[];
  /**
   * Chunks kept aside from the slot the download overwrites (scratch.ts): a third source, used for
   * chunks the reuse slots lack.
   */
  stash?: ChunkStash | undefined;
  fetch: RangeFetcher;
  /** Where the download (re)starts: the installer's durable offset. */
  from: number;
  /** The new image's length (from the verified release). */
  length: number;
  signal?: AbortSignal | undefined;
}

/** The new image's bytes from `from`, and what was saved so far. */
export interface ImageSource {
  chunks: AsyncIterable<Uint8Array>;
  /** Bytes of [from, length) yielded so far, by where they came from. */
  saving(): DeltaSaving;
}

/** Where a chunk of the new image lies in a slot. */
interface Source {
  slot: SlotName;
  offset: number;
  length: number;
}

/**
 * Slot bytes re-read to copy chunks that lie out of order may total at most this many times the
 * slots' size: a slot is read as a stream, and going back means reading it again from its start.
 * Past the budget the rest is fetched, so a reordered image never costs more than a few reads.
 */
const REREAD_FACTOR = 4;

/**
 * Consecutive copied chunks are handed on together up to about this size: the installer makes each
 * piece durable (fsync) before the next, so 8 KiB pieces would cost one fsync each.
 */
const COPY_BATCH = 256 * 1024;

/** Builds the byte source for one download of an image of `length` bytes, from `from`. */
export function imageSource(o: ImageSourceOptions): ImageSource {
  if (!Number.isSafeInteger(o.length) || o.length < 0)
    throw new RangeError('image length must be an integer >= 0');
  if (!Number.isSafeInteger(o.from) || o.from < 0 || o.from > o.length)
    throw new RangeError(`resume offset ${o.from} is outside the image (0..${o.length})`);
  const saving: DeltaSaving = { totalBytes: o.length - o.from, downloadedBytes: 0, reusedBytes: 0 };

  async function* fetchRange(start: number, end: number): AsyncGenerator<Uint8Array> {
    let at = start;
    for await (const piece of o.fetch(start, end - 1, o.signal)) {
      const bytes = piece.subarray(0, Math.min(piece.byteLength, end - at));
      if (bytes.byteLength > 0) {
        at += bytes.byteLength;
        saving.downloadedBytes += bytes.byteLength;
        yield bytes;
      }
      if (at === end) return; // leaving the loop closes the fetcher's iterator
    }
    throw new Error(`the image source ended at byte ${at}, ${end - at} bytes short of ${end}`);
  }

  async function* run(): AsyncGenerator<Uint8Array> {
    if (o.from === o.length) return;
    let plan: Plan | undefined;
    try {
      plan = await makePlan(o);
    } catch (err) {
      if (o.signal?.aborted === true) throw err;
      plan = undefined; // any trouble reading the slots: the whole image, as without delta
    }
    if (plan === undefined) {
      yield* fetchRange(o.from, o.length);
      return;
    }
    const readers = new Map<SlotName, SlotReader>();
    const budget = { bytes: REREAD_FACTOR * plan.slotBytes };
    let pending: [number, number] | undefined; // a fetch range not yet requested
    let copied: Uint8Array[] = []; // verified copies not yet yielded
    let copiedBytes = 0;
    const flush = (): Uint8Array => {
      const out = copied.length === 1 ? copied[0]! : Buffer.concat(copied);
      saving.reusedBytes += out.byteLength;
      copied = [];
      copiedBytes = 0;
      return out;
    };
    try {
      for (const chunk of plan.chunks) {
        o.signal?.throwIfAborted();
        const start = Math.max(chunk.offset, o.from);
        const end = chunk.offset + chunk.length;
        const source = plan.sources.get(chunk.sha256);
        const bytes =
          source === undefined
            ? undefined
            : source === STASHED
              ? await fromStash(o.stash!, chunk.sha256)
              : await copy(source, chunk.sha256, readers, o.slots, budget);
        if (bytes === undefined) {
          if (copiedBytes > 0) yield flush();
          pending = pending === undefined ? [start, end] : [pending[0], end];
          continue;
        }
        if (pending !== undefined) yield* fetchRange(...pending);
        pending = undefined;
        copied.push(bytes.subarray(start - chunk.offset));
        copiedBytes += end - start;
        if (copiedBytes >= COPY_BATCH) yield flush();
      }
      if (copiedBytes > 0) yield flush();
      if (pending !== undefined) yield* fetchRange(...pending);
    } finally {
      for (const r of readers.values()) await r.close();
    }
  }

  return { chunks: run(), saving: () => ({ ...saving }) };
}

interface Plan {
  /** The index's chunks from the one holding `from` on. */
  chunks: readonly ChunkEntry[];
  /** Where each wanted chunk (by sha256) lies: in a reuse slot, or in the stash. */
  sources: Map<string, Source | typeof STASHED>;
  /** Bytes of the reuse slots that were indexed. */
  slotBytes: number;
}

/**
 * Indexes the reuse slots with the new index's algorithm; undefined when there is nothing to do
 * it with (no index, an algorithm this agent cannot chunk with, an index that does not fit).
 */
async function makePlan(o: ImageSourceOptions): Promise<Plan | undefined> {
  const index = o.index;
  if (index === undefined || chunkIndexProblem(index, o.length) !== undefined) return undefined;
  const params = parseChunkAlgorithm(index.algorithm);
  if (params === undefined) return undefined;
  const chunks = index.chunks.filter((c) => c.offset + c.length > o.from);
  const wanted = new Set(chunks.map((c) => c.sha256));
  const sources = new Map<string, Source | typeof STASHED>();
  let slotBytes = 0;
  for (const slot of new Set(o.reuse)) {
    // Only the image the manifest describes (a slot may hold stale bytes past it).
    const size = (await o.slots.readManifest(slot))?.length ?? (await o.slots.imageSize(slot));
    const chunker = new Chunker(params);
    const found = (c: ChunkEntry): void => {
      if (wanted.has(c.sha256) && !sources.has(c.sha256))
        sources.set(c.sha256, { slot, offset: c.offset, length: c.length });
    };
    let read = 0;
    for await (const piece of o.slots.readImage(slot)) {
      const part = piece.subarray(0, Math.min(piece.byteLength, size - read));
      chunker.push(part, found);
      read += part.byteLength;
      if (read === size) break;
      o.signal?.throwIfAborted();
    }
    chunker.end(found);
    slotBytes += read;
  }
  if (o.stash !== undefined)
    for (const c of chunks)
      if (!sources.has(c.sha256) && o.stash.has(c.sha256)) sources.set(c.sha256, STASHED);
  return { chunks, sources, slotBytes };
}

/** Marks a chunk found in the stash. */
const STASHED = 'stash';

/** The chunk's bytes from the stash if they hash to `sha256`, else undefined (fetch it). */
async function fromStash(stash: ChunkStash, sha256: string): Promise<Uint8Array | undefined> {
  try {
    const bytes = await stash.read(sha256);
    if (bytes === undefined) return undefined;
    return createHash('sha256').update(bytes).digest('hex') === sha256 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** The chunk's bytes from its slot if they still hash to `sha256`, else undefined (fetch it). */
async function copy(
  source: Source,
  sha256: string,
  readers: Map<SlotName, SlotReader>,
  slots: SlotStore,
  budget: { bytes: number },
): Promise<Uint8Array | undefined> {
  let reader = readers.get(source.slot);
  if (reader === undefined) {
    reader = new SlotReader(slots, source.slot);
    readers.set(source.slot, reader);
  }
  try {
    const bytes = await reader.read(source.offset, source.length, budget);
    if (bytes === undefined) return undefined;
    return createHash('sha256').update(bytes).digest('hex') === sha256 ? bytes : undefined;
  } catch {
    readers.delete(source.slot); // a read error: this chunk is fetched, the next read starts over
    await reader.close();
    return undefined;
  }
}

/**
 * Reads byte ranges of a slot's image through `readImage`'s stream: forward reads continue the
 * stream, a read behind the current position starts it again (counted against `budget`).
 */
class SlotReader {
  private it: AsyncIterator<Uint8Array> | undefined;
  /** Image offset of `buf[0]`. */
  private pos = 0;
  private buf: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly slots: SlotStore,
    private readonly slot: SlotName,
  ) {}

  /**
   * `length` bytes at `offset`, or undefined when the re-read budget is spent. Throws when the
   * image is shorter.
   */
  async read(
    offset: number,
    length: number,
    budget: { bytes: number },
  ): Promise<Uint8Array | undefined> {
    if (this.it === undefined || offset < this.pos) {
      if (offset + length > budget.bytes) return undefined;
      await this.close();
      this.it = this.slots.readImage(this.slot)[Symbol.asyncIterator]();
    }
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      if (this.buf.byteLength === 0) {
        const next = await this.it.next();
        if (next.done === true) throw new Error(`slot ${this.slot} image ends at ${this.pos}`);
        this.buf = next.value;
        budget.bytes -= next.value.byteLength;
      }
      const skip = Math.min(Math.max(offset - this.pos, 0), this.buf.byteLength);
      this.buf = this.buf.subarray(skip);
      this.pos += skip;
      if (this.pos < offset) continue;
      const take = Math.min(length - got, this.buf.byteLength);
      out.set(this.buf.subarray(0, take), got);
      got += take;
      this.buf = this.buf.subarray(take);
      this.pos += take;
    }
    return out;
  }

  /** Ends the current stream (closing its file). */
  async close(): Promise<void> {
    const it = this.it;
    this.it = undefined;
    this.pos = 0;
    this.buf = new Uint8Array(0);
    await it?.return?.();
  }
}
