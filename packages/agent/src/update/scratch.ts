/**
 * The chunk scratch area of a delta download (docs/decisions/0010-delta-downloads.md): before
 * `Installer.begin` makes the inactive slot the target (and the download overwrites it), the chunks
 * of the new image that the running slot lacks and the inactive slot holds are copied here, so the
 * download fetches only what NEITHER slot holds. Bounded (`cap` bytes), kept in the agent's files
 * (packs of about 1 MiB and an index written last), removed when the download is over, and at
 * start when it belongs to no download in progress.
 */
import { createHash } from 'node:crypto';
import {
  Chunker,
  chunkIndexProblem,
  parseChunkAlgorithm,
  type ChunkEntry,
  type ChunkIndex,
  type ChunkParams,
} from '@bulwark/firmware';
import type { AgentFiles } from '../ports.js';
import type { SlotName, SlotStore } from './slots.js';

/** Chunks by sha256, as `imageSource` reads them besides the slots. */
export interface ChunkStash {
  has(sha256: string): boolean;
  /** The chunk's bytes (the caller checks their hash), or undefined when they cannot be read. */
  read(sha256: string): Promise<Uint8Array | undefined>;
}

/** The default cap of the scratch area (the image length caps it too). */
export const SCRATCH_CAP = 32 * 1024 * 1024;
const DIR = 'update/scratch/';
const INDEX = `${DIR}index.json`;
const PACK_BYTES = 1024 * 1024;

interface ScratchIndex {
  /** The sha256 of the release the chunks were kept for. */
  release: string;
  /** sha256 → [pack number, offset, length]. */
  chunks: Record<string, [number, number, number]>;
}

/** What `stash` works from. */
export interface StashOptions {
  index: ChunkIndex;
  /** The new release (its sha256 names the stash; its length bounds it). */
  release: { sha256: string; length: number };
  slots: SlotStore;
  running: SlotName;
  inactive: SlotName;
  /** At most this many bytes (default SCRATCH_CAP); chunks past it are left to download. */
  cap?: number;
}

/** The scratch area in the agent's files. */
export class ChunkScratch implements ChunkStash {
  private index: ScratchIndex | undefined;
  private pack: { n: number; bytes: Uint8Array } | undefined;

  constructor(private readonly files: AgentFiles) {}

  /** Loads the stash kept for `releaseSha256`; any other (stale) one is removed. */
  async load(releaseSha256: string | undefined): Promise<void> {
    this.index = undefined;
    const raw = await this.files.read(INDEX).catch(() => undefined);
    let idx: ScratchIndex | undefined;
    try {
      idx =
        raw === undefined ? undefined : (JSON.parse(Buffer.from(raw).toString()) as ScratchIndex);
    } catch {
      idx = undefined;
    }
    if (idx !== undefined && releaseSha256 !== undefined && idx.release === releaseSha256) {
      this.index = idx;
      return;
    }
    if (raw !== undefined || (await this.files.list(DIR)).length > 0) await this.clear();
  }

  /** True while a stash is loaded. */
  get active(): boolean {
    return this.index !== undefined;
  }

  has(sha256: string): boolean {
    return this.index?.chunks[sha256] !== undefined;
  }

  async read(sha256: string): Promise<Uint8Array | undefined> {
    const at = this.index?.chunks[sha256];
    if (at === undefined) return undefined;
    const [n, offset, length] = at;
    if (this.pack?.n !== n) {
      const bytes = await this.files.read(`${DIR}pack-${n}`);
      if (bytes === undefined) return undefined;
      this.pack = { n, bytes };
    }
    if (offset + length > this.pack.bytes.byteLength) return undefined;
    return this.pack.bytes.subarray(offset, offset + length);
  }

  /** Removes the scratch area. */
  async clear(): Promise<void> {
    this.index = undefined;
    this.pack = undefined;
    await this.files.remove(INDEX);
    for (const name of await this.files.list(DIR)) await this.files.remove(name);
  }

  /**
   * Copies the chunks of `index` that `inactive` holds and `running` lacks (each hashed as it is
   * cut, with the index's algorithm) into the scratch area. Returns the bytes kept; 0 when there
   * is nothing to keep or the index is unusable.
   */
  async stash(o: StashOptions): Promise<number> {
    await this.clear();
    if (chunkIndexProblem(o.index, o.release.length) !== undefined) return 0;
    const params = parseChunkAlgorithm(o.index.algorithm);
    if (params === undefined) return 0;
    const wanted = new Set(o.index.chunks.map((c) => c.sha256));
    await chunkSlot(o.slots, o.running, params, (c) => void wanted.delete(c.sha256));
    if (wanted.size === 0) return 0;
    const cap = Math.min(o.cap ?? SCRATCH_CAP, o.release.length);
    const idx: ScratchIndex = { release: o.release.sha256, chunks: {} };
    const packs: Uint8Array[][] = [[]];
    let packBytes = 0;
    let total = 0;
    await chunkSlot(o.slots, o.inactive, params, (c, bytes) => {
      if (!wanted.has(c.sha256) || idx.chunks[c.sha256] !== undefined) return;
      if (total + c.length > cap) return;
      if (createHash('sha256').update(bytes).digest('hex') !== c.sha256) return;
      if (packBytes >= PACK_BYTES) {
        packs.push([]);
        packBytes = 0;
      }
      idx.chunks[c.sha256] = [packs.length - 1, packBytes, c.length];
      packs.at(-1)!.push(Uint8Array.from(bytes));
      packBytes += c.length;
      total += c.length;
    });
    if (total === 0) return 0;
    try {
      for (const [n, parts] of packs.entries())
        await this.files.write(`${DIR}pack-${n}`, Buffer.concat(parts));
      // The index last: a stash without one is incomplete and removed at the next load.
      await this.files.write(INDEX, Buffer.from(JSON.stringify(idx)));
    } catch (err) {
      await this.clear().catch(() => undefined);
      throw err;
    }
    this.index = idx;
    return total;
  }
}

/** Cuts a slot's image (as far as its manifest says) into chunks; `found` gets each with its bytes. */
async function chunkSlot(
  slots: SlotStore,
  slot: SlotName,
  params: ChunkParams,
  found: (c: ChunkEntry, bytes: Uint8Array) => void,
): Promise<void> {
  const size = (await slots.readManifest(slot))?.length ?? (await slots.imageSize(slot));
  const chunker = new Chunker(params);
  // The bytes from `tailAt` on: every chunk not yet cut lies in them.
  let tail = Buffer.alloc(0);
  let tailAt = 0;
  let cutTo = 0;
  const emit = (c: ChunkEntry) => {
    found(c, tail.subarray(c.offset - tailAt, c.offset - tailAt + c.length));
    cutTo = c.offset + c.length;
  };
  let read = 0;
  for await (const piece of slots.readImage(slot)) {
    const part = piece.subarray(0, Math.min(piece.byteLength, size - read));
    tail = Buffer.concat([tail, part]);
    chunker.push(part, emit);
    tail = tail.subarray(cutTo - tailAt);
    tailAt = cutTo;
    read += part.byteLength;
    if (read === size) break;
  }
  chunker.end(emit);
}
