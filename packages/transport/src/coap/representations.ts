/**
 * Large notifications kept for their Block2 follow-up GETs (RFC 7959 §2.6 with RFC 7641): the
 * notification carries block 0 and an ETag; the client fetches the rest with GET + Block2.
 * Bounded by count and time; only the latest representation of a resource is kept.
 */
import { randomBytes } from 'node:crypto';

/** One stored representation. */
export interface Representation {
  etag: Buffer;
  contentFormat: number;
  payload: Buffer;
  expiresAt: number;
}

/** The latest large representation per resource key. */
export class RepresentationStore {
  readonly #byKey = new Map<string, Representation>();
  readonly #epoch = randomBytes(4); // ETags differ across restarts (RFC 7252 §5.10.6)
  #counter = 0;

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  /** Stores a payload as the resource's latest representation and returns it (with a fresh ETag). */
  put(key: string, contentFormat: number, payload: Buffer, now: number): Representation {
    this.#counter = (this.#counter + 1) >>> 0;
    const etag = Buffer.alloc(8);
    this.#epoch.copy(etag, 0);
    etag.writeUInt32BE(this.#counter, 4);
    const r: Representation = { etag, contentFormat, payload, expiresAt: now + this.ttlMs };
    this.#byKey.delete(key); // re-insert: Map order is the eviction order
    this.#byKey.set(key, r);
    while (this.#byKey.size > this.max) {
      const oldest = this.#byKey.keys().next().value;
      if (oldest === undefined) break;
      this.#byKey.delete(oldest);
    }
    return r;
  }

  /** The resource's latest representation, unless it expired. */
  get(key: string, now: number): Representation | undefined {
    const r = this.#byKey.get(key);
    if (r !== undefined && r.expiresAt <= now) {
      this.#byKey.delete(key);
      return undefined;
    }
    return r;
  }

  /** Forgets everything. */
  clear(): void {
    this.#byKey.clear();
  }
}
