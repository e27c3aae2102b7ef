/**
 * The BlobStore on NATS JetStream's object store, so every hub node of a cluster serves the
 * firmware images any node accepted. An object is named by its SHA-256 (hex) and kept as chunks
 * on the subject `$O.<bucket>.C.<nuid>` plus one metadata message (size, chunk size, digest);
 * `nats object get <bucket> <sha256>` reads it too.
 *
 * - **Put** streams through the object store client, which publishes each chunk as it fills and
 *   the metadata last. Our stream counts and hashes the bytes as they pass and fails at the first
 *   byte too many, or at the end on a short image or another hash: the client then purges the
 *   chunks it wrote and never publishes the metadata, so nothing unverified is ever readable.
 *   Content already stored is verified and not written again (a second copy would make the
 *   client purge the first one's chunks under a reader's feet). Two nodes writing the same new
 *   content race on the metadata subject's expected last sequence; the loser's chunks are purged.
 * - **Get** reads chunk by chunk with JetStream's direct get by stream sequence, a few chunks
 *   ahead of the reader, so a slow download holds a few chunks in memory, not the image. The
 *   chunks' sequences are found once per object and node with a headers-only consumer (no
 *   payloads cross the wire) and cached, so a range — a device resuming near the end of a large
 *   image — fetches only the chunks that hold it. A whole read is checked against the SHA-256 at
 *   its end (the stream fails on a mismatch); a range is checked by chunk lengths.
 * - **Delete** marks the metadata deleted and purges the chunks (the object store's own delete).
 */
import { createHash } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { BlobExpectation, BlobStat, BlobStore, ByteRange } from '@bulwark/core';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { Objm, StorageType, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import { connectNats, deploymentNames, type NatsConnectOptions } from './connection.js';

/** Options of createNatsBlobStore. */
export interface NatsBlobStoreOptions extends NatsConnectOptions {
  /** Object store bucket (default `BULWARK_BLOBS`; see `deploymentNames`). */
  bucket?: string;
  /** Replicas of the bucket's stream in a NATS cluster (default 1; 3 in production). */
  replicas?: number;
  /** Chunk size, bytes (default 128 KiB; the server's max_payload caps it). */
  chunkBytes?: number;
  /** How long one JetStream request may take, ms (default 10,000). */
  timeoutMs?: number;
}

/** A BlobStore that holds a NATS connection until closed. */
export interface NatsBlobStore extends BlobStore {
  /** The bucket's stream name (`OBJ_<bucket>`). */
  readonly stream: string;
  /** Bytes this store's connection has received from NATS so far (for metrics and tests). */
  received(): number;
  close(): Promise<void>;
}

const KEY = /^[0-9a-f]{64}$/;
/** The object store client's own default: big enough to amortise a request, small enough to resume. */
const DEFAULT_CHUNK_BYTES = 128 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * Chunks a download fetches ahead: one request's round trip no longer stalls the reader, and a
 * download holds at most this many chunks (512 KiB at the default size) in memory.
 */
const READ_AHEAD = 4;
/** Times a chunk a replica has not yet got is asked for again (50, 100, 150 ms apart). */
const MISSING_CHUNK_RETRIES = 3;
/** Chunk-sequence indexes kept per node: a few images are being downloaded at any time. */
const INDEX_CACHE = 32;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const unavailable = (what: string, err: unknown) =>
  new BulwarkError('unavailable', `blobs (NATS): ${what}: ${messageOf(err)}`, { cause: err });

/** The object store's `SHA-256=<base64url>` digest as lower-case hex, or undefined. */
function digestHex(digest: string | undefined): string | undefined {
  const m = /^SHA-256=([A-Za-z0-9_=-]+)$/.exec(digest ?? '');
  if (!m?.[1]) return undefined;
  const raw = Buffer.from(m[1].replace(/=+$/, ''), 'base64url');
  return raw.byteLength === 32 ? raw.toString('hex') : undefined;
}

function checkExpectation(expect: BlobExpectation): string {
  if (!Number.isSafeInteger(expect.length) || expect.length < 0) {
    throw new BulwarkError('validation_failed', 'blob length must be a non-negative integer');
  }
  const want = expect.sha256.toLowerCase();
  if (!KEY.test(want)) throw new BulwarkError('validation_failed', 'sha256 must be 64 hex digits');
  return want;
}

/**
 * Counts and hashes `data` as it is read; throws `firmware_length_mismatch` at the first byte
 * past the promised length or on a short stream, `firmware_hash_mismatch` on another hash.
 */
async function* verified(
  data: AsyncIterable<Uint8Array>,
  expect: { length: number; sha256: string },
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let n = 0;
  for await (const chunk of data) {
    n += chunk.byteLength;
    if (n > expect.length) {
      throw new BulwarkError(
        'firmware_length_mismatch',
        `the image is longer than the ${expect.length} bytes its metadata gives`,
        { extra: { expected: expect.length } },
      );
    }
    hash.update(chunk);
    yield chunk;
  }
  if (n !== expect.length) {
    throw new BulwarkError(
      'firmware_length_mismatch',
      `the image has ${n} bytes; its metadata gives ${expect.length}`,
      { extra: { expected: expect.length, actual: n } },
    );
  }
  const got = hash.digest('hex');
  if (got !== expect.sha256) {
    throw new BulwarkError('firmware_hash_mismatch', `the image's SHA-256 is ${got}`, {
      extra: { expected: expect.sha256, actual: got },
    });
  }
}

/** Reads `data` to its end. */
async function drain(data: AsyncIterable<Uint8Array>): Promise<void> {
  const it = data[Symbol.asyncIterator]();
  while (!(await it.next()).done);
}

/** A web ReadableStream over an async iterator (the object store client reads one). */
function readable(it: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await it.next(); // a throw errors the stream: the client purges what it wrote
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** Connects, creates the bucket unless it exists, and returns the store. */
export async function createNatsBlobStore(opts: NatsBlobStoreOptions): Promise<NatsBlobStore> {
  const bucket = opts.bucket ?? deploymentNames().blobsBucket;
  const replicas = opts.replicas ?? 1;
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const nc = await connectNats({ name: 'bulwark-blobs', ...opts }, 'blobs');
  let os: ObjectStore;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  const stream = `OBJ_${bucket}`;
  try {
    js = jetstream(nc, { timeout });
    jsm = await jetstreamManager(nc, { timeout });
    os = await new Objm(js).create(bucket, { storage: StorageType.File, replicas });
    // An existing bucket keeps its configuration; bring the replica count in line.
    const info = await jsm.streams.info(stream);
    if (info.config.num_replicas !== replicas) {
      await jsm.streams.update(stream, { num_replicas: replicas });
    }
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw unavailable(`cannot set up the object store bucket ${bucket}`, err);
  }
  return new JetStreamBlobStore(nc, js, jsm, os, bucket, stream, opts.chunkBytes);
}

/** Where the chunks of one stored object are. */
interface Located {
  info: ObjectInfo;
  subject: string;
  chunkBytes: number;
}

class JetStreamBlobStore implements NatsBlobStore {
  /** nuid → stream sequence of each chunk, most recently used last. */
  readonly #index = new Map<string, number[]>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly os: ObjectStore,
    private readonly bucket: string,
    readonly stream: string,
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {}

  async put(data: AsyncIterable<Uint8Array>, expect: BlobExpectation): Promise<string> {
    const sha256 = checkExpectation(expect);
    const want = { length: expect.length, sha256 };
    const meta = await this.#meta(sha256);
    if (meta && !meta.deleted) {
      // Already stored: check the caller's bytes all the same, then keep the one copy.
      await drain(verified(data, want));
      return sha256;
    }
    const it = verified(data, want)[Symbol.asyncIterator]();
    try {
      await this.os.put(
        { name: sha256, options: { max_chunk_size: this.chunkBytes } },
        readable(it),
        // The metadata subject must still be as we saw it: no message, or the deletion marker.
        { previousRevision: meta?.revision ?? 0 },
      );
    } catch (err) {
      if (err instanceof BulwarkError) throw err;
      // Another node stored the same content first: that copy is the blob.
      const now = await this.#meta(sha256).catch(() => null);
      if (now && !now.deleted && now.size === expect.length) return sha256;
      throw unavailable(`storing ${sha256} failed`, err);
    } finally {
      await it.return?.(undefined);
    }
    return sha256;
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    const at = await this.#locate(key);
    return at ? { key, length: at.info.size, sha256: key } : undefined;
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const at = await this.#locate(key);
    if (!at) return undefined;
    const size = at.info.size;
    if (range && !(range.start >= 0 && range.start <= range.end && range.end < size)) {
      throw new BulwarkError(
        'validation_failed',
        `range ${range.start}-${range.end} is outside the ${size}-byte blob`,
      );
    }
    return this.#read(at, range ?? { start: 0, end: size - 1 }, range === undefined);
  }

  async delete(key: string): Promise<boolean> {
    const at = await this.#locate(key);
    if (!at) return false;
    try {
      await this.os.delete(key);
    } catch (err) {
      throw unavailable(`deleting ${key} failed`, err);
    }
    this.#index.delete(at.info.nuid);
    return true;
  }

  received(): number {
    return this.nc.stats().inBytes;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }

  /** The object's metadata (deleted or not), null when there never was one. */
  async #meta(key: string): Promise<ObjectInfo | null> {
    try {
      return await this.os.info(key);
    } catch (err) {
      throw unavailable(`reading the metadata of ${key} failed`, err);
    }
  }

  /** The live object of `key`, checked against its name; undefined for none or a bad key. */
  async #locate(key: string): Promise<Located | undefined> {
    if (!KEY.test(key)) return undefined;
    const info = await this.#meta(key);
    if (!info || info.deleted) return undefined;
    if (digestHex(info.digest) !== key) {
      // Only a writer bypassing this adapter could do this: refuse to serve it as the image.
      throw new BulwarkError(
        'internal_error',
        `blob ${key} in bucket ${this.bucket} carries another digest (${info.digest})`,
      );
    }
    const chunkBytes = info.options?.max_chunk_size ?? 0;
    if (info.size > 0 && !(chunkBytes > 0)) {
      throw new BulwarkError('internal_error', `blob ${key} has no chunk size in its metadata`);
    }
    return { info, subject: `$O.${this.bucket}.C.${info.nuid}`, chunkBytes };
  }

  /**
   * Yields bytes `range` of the object, fetching up to READ_AHEAD chunks ahead by their stream
   * sequences; checks the hash when `whole`.
   */
  async *#read(at: Located, range: ByteRange, whole: boolean): AsyncGenerator<Uint8Array> {
    const { info, subject, chunkBytes } = at;
    if (info.size === 0) return;
    const first = Math.floor(range.start / chunkBytes);
    const last = Math.floor(range.end / chunkBytes);
    const seqs = await this.#seqs(at);
    const hash = whole ? createHash('sha256') : undefined;
    const want = (i: number) => (i === info.chunks - 1 ? info.size - i * chunkBytes : chunkBytes);
    const fetch = async (i: number): Promise<StoredMsg> => {
      const seq = seqs[i];
      // Direct gets may be answered by a replica a moment behind the stream leader that served
      // the metadata (`--nats-replicas` > 1): a missing chunk is asked for again, briefly.
      for (let attempt = 0; seq !== undefined; attempt++) {
        let m: StoredMsg | null;
        try {
          m = await this.jsm.direct.getMessage(this.stream, { seq });
        } catch (err) {
          throw unavailable(`reading chunk ${i} of ${info.name} failed`, err);
        }
        if (m && m.subject === subject && m.data.byteLength === want(i)) return m;
        if (attempt === MISSING_CHUNK_RETRIES) break;
        await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      }
      throw new BulwarkError(
        'internal_error',
        `chunk ${i} of blob ${info.name} is missing or has the wrong size (deleted while read?)`,
      );
    };
    // Chunks fetched ahead fail when awaited; a reader that stops early never awaits them, so
    // each is marked handled here (an unhandled rejection would end the process).
    const pending: Promise<StoredMsg>[] = [];
    let fetched = first;
    const fill = () => {
      for (; fetched <= last && pending.length < READ_AHEAD; fetched++) {
        const p = fetch(fetched);
        p.catch(() => undefined);
        pending.push(p);
      }
    };
    for (let i = first; i <= last; i++) {
      fill();
      const m = await pending.shift()!;
      fill();
      if (hash) hash.update(m.data);
      const from = i === first ? range.start - i * chunkBytes : 0;
      const to = i === last ? range.end - i * chunkBytes + 1 : m.data.byteLength;
      yield m.data.subarray(from, to);
    }
    if (hash && hash.digest('hex') !== info.name) {
      throw new BulwarkError('internal_error', `blob ${info.name} read back with another hash`);
    }
  }

  /** The stream sequence of every chunk of the object, from the cache or a headers-only scan. */
  async #seqs(at: Located): Promise<number[]> {
    const { nuid, chunks } = at.info;
    let seqs = this.#index.get(nuid);
    if (seqs) {
      this.#index.delete(nuid); // re-insert: most recently used last
    } else {
      try {
        seqs = await this.#scan(at.subject, chunks);
      } catch (err) {
        throw unavailable(`finding the chunks of ${at.info.name} failed`, err);
      }
      if (this.#index.size >= INDEX_CACHE) {
        const oldest = this.#index.keys().next().value;
        if (oldest !== undefined) this.#index.delete(oldest);
      }
    }
    this.#index.set(nuid, seqs);
    return seqs;
  }

  /** The sequences of the `chunks` messages on `subject`, read headers-only. */
  async #scan(subject: string, chunks: number): Promise<number[]> {
    const consumer = await this.js.consumers.get(this.stream, {
      filter_subjects: subject,
      headers_only: true,
    });
    const seqs: number[] = [];
    try {
      while (seqs.length < chunks) {
        const batch = await consumer.fetch({
          max_messages: Math.min(chunks - seqs.length, 1024),
          expires: 5_000,
        });
        let got = 0;
        for await (const m of batch) {
          seqs.push(m.seq);
          got++;
        }
        if (got === 0) throw new Error(`found ${seqs.length} of ${chunks} chunks on ${subject}`);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return seqs;
  }
}
