/**
 * Integrity of stored images when they are served (issue 13 item 9). Devices verify what they
 * install, but a hub that serves bytes its disk has damaged wastes every device's download and
 * retry budget and hides the damage. So an image is checked against its SHA-256 and length:
 *
 * - a **whole** download is hashed as it streams and fails at its end on a mismatch (the HTTP
 *   response is cut short, never completed with wrong bytes);
 * - before the first **range** of an image is served, the whole image is read and checked once
 *   (concurrent first requests share one check);
 * - a check is trusted for `recheckMs` (a day by default), so a long-running hub re-reads its
 *   images now and then — a scrub spread over the downloads that happen anyway;
 * - an image found corrupt is refused with `firmware_image_corrupt` (checked again after a
 *   minute: an operator may restore the file from a backup meanwhile).
 *
 * The state is per process and bounded; a restart starts over, which only costs a re-read.
 */
import { createHash } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { BlobStore, ByteRange } from '../ports/blobs.js';

const DAY = 24 * 3600_000;
/** A corrupt image is looked at again this often (a restored file is served again). */
const CORRUPT_RECHECK_MS = 60_000;
/** Images whose check result is remembered; the oldest is forgotten first. */
const MAX_ENTRIES = 1024;

/** What the stored image must be. */
export interface BlobExpect {
  key: string;
  sha256: string;
  length: number;
}

interface Entry {
  at: number;
  ok: boolean;
}

export class BlobVerifier<T extends BlobExpect = BlobExpect> {
  readonly #checked = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<boolean>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly now: () => number,
    /** Called once each time an image is found corrupt (to audit or alert). */
    private readonly onCorrupt: (expect: T, detail: string) => void,
    private readonly recheckMs = DAY,
  ) {}

  /**
   * Opens the image (all, or the inclusive `range`) once it is known to be intact; undefined
   * when the store has no such blob.
   */
  async open(expect: T, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined> {
    const known = this.#fresh(expect.key);
    if (known?.ok === false) throw corrupt();
    if (known?.ok === true) return this.blobs.get(expect.key, range);
    if (range === undefined && !this.#pending.has(expect.key)) {
      const body = await this.blobs.get(expect.key);
      return body && this.#checkedStream(expect, body);
    }
    if (!(await this.#check(expect))) throw corrupt();
    return this.blobs.get(expect.key, range);
  }

  /** The cached result if it is recent enough to trust. */
  #fresh(key: string): Entry | undefined {
    const e = this.#checked.get(key);
    if (e === undefined) return undefined;
    const ttl = e.ok ? this.recheckMs : CORRUPT_RECHECK_MS;
    return this.now() - e.at < ttl ? e : undefined;
  }

  #record(expect: T, ok: boolean, detail: string): void {
    const before = this.#checked.get(expect.key);
    this.#checked.delete(expect.key);
    this.#checked.set(expect.key, { at: this.now(), ok });
    if (this.#checked.size > MAX_ENTRIES) {
      const oldest = this.#checked.keys().next().value;
      if (oldest !== undefined) this.#checked.delete(oldest);
    }
    if (!ok && before?.ok !== false) this.onCorrupt(expect, detail);
  }

  /** Reads the whole image once (shared by concurrent callers); true when it is intact. */
  #check(expect: T): Promise<boolean> {
    let p = this.#pending.get(expect.key);
    if (p === undefined) {
      p = (async () => {
        const body = await this.blobs.get(expect.key);
        if (body === undefined) throw missing();
        const hash = createHash('sha256');
        let length = 0;
        for await (const chunk of body) {
          hash.update(chunk);
          length += chunk.byteLength;
        }
        const detail = verdict(expect, length, hash.digest('hex'));
        this.#record(expect, detail === '', detail);
        return detail === '';
      })().finally(() => this.#pending.delete(expect.key));
      this.#pending.set(expect.key, p);
    }
    return p;
  }

  /**
   * Streams `body`, hashing it. The last chunk is held back until the hash is known, so a damaged
   * image never completes a response: the client sees a transfer cut short, not wrong bytes.
   */
  async *#checkedStream(expect: T, body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const hash = createHash('sha256');
    let length = 0;
    let held: Uint8Array | undefined;
    for await (const chunk of body) {
      length += chunk.byteLength;
      if (length > expect.length) break;
      hash.update(chunk);
      if (held !== undefined) yield held;
      held = chunk;
    }
    const detail = verdict(expect, length, length > expect.length ? '' : hash.digest('hex'));
    this.#record(expect, detail === '', detail);
    if (detail !== '') throw corrupt();
    if (held !== undefined) yield held;
  }
}

/** '' when intact, else what is wrong. */
function verdict(expect: BlobExpect, length: number, sha256: string): string {
  if (length !== expect.length)
    return `the stored image has ${length > expect.length ? 'more than ' : ''}${length} bytes, not ${expect.length}`;
  if (sha256 !== expect.sha256.toLowerCase()) return `the stored image's SHA-256 is ${sha256}`;
  return '';
}

const corrupt = () =>
  new BulwarkError(
    'firmware_image_corrupt',
    "the stored image does not match its metadata's SHA-256 and length: restore the blob from a backup, or delete the artifact and upload it again",
  );

const missing = () => new BulwarkError('internal_error', 'the stored image is missing');
