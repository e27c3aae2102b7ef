/**
 * The blob port: where the hub keeps large opaque artifacts (firmware images). A blob is written
 * once from a stream whose length and SHA-256 are known up front (from signed metadata); the store
 * hashes while it writes and keeps the blob only when both match, so nothing unverified is ever
 * readable. Reads are by byte range so downloads can resume.
 */

/** What a caller promises about a blob before writing it. */
export interface BlobExpectation {
  /** Exact length in bytes. */
  length: number;
  /** SHA-256 of the content, lower-case hex. */
  sha256: string;
}

/** A stored blob as the store sees it. */
export interface BlobStat {
  key: string;
  length: number;
  sha256: string;
}

/** An inclusive byte range `[start, end]`, as in HTTP `Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  /**
   * Writes `data` and returns the blob's key once length and hash match `expect`. On a mismatch
   * (more or fewer bytes, another hash) it throws `firmware_length_mismatch` or
   * `firmware_hash_mismatch` and leaves nothing behind; it stops reading as soon as the stream
   * is longer than promised. Writing content that is already stored returns the same key.
   */
  put(data: AsyncIterable<Uint8Array>, expect: BlobExpectation): Promise<string>;
  /** The blob's length and hash, or undefined when there is no such key. */
  stat(key: string): Promise<BlobStat | undefined>;
  /**
   * The blob's bytes, all or the inclusive `range`, as a stream; undefined when there is no such
   * key. The range must lie inside the blob (callers check with `stat` first).
   */
  get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** Removes the blob; false when there was none. */
  delete(key: string): Promise<boolean>;
}
