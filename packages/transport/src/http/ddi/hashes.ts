/**
 * SHA-1 and MD5 of artifact images, which DDI clients expect (`hashes.sha1`, `.MD5SUM`) but the
 * signed metadata does not carry (it has SHA-256 only). Computed once per image by streaming it from
 * the blob store, then kept in memory keyed by the image's SHA-256 (images are content-addressed,
 * so the key never goes stale). A hub restart recomputes on first use; a bounded map keeps memory
 * flat however many artifacts exist. These weak hashes are transfer checksums for the client, never
 * a security decision: the client verifies its own signature (SWUpdate: CMS) and Bulwark's agent the
 * signed TUF metadata.
 */
import { createHash } from 'node:crypto';

/** The legacy digests of one image, lower-case hex. */
export interface LegacyHashes {
  sha1: string;
  md5: string;
}

// 1,024 images is far above the artifacts a fleet rolls out at once; each entry is ~100 bytes.
const MAX_ENTRIES = 1024;

/** A cache of legacy digests; `open` streams an image's bytes when they must be computed. */
export class LegacyHashCache {
  readonly #entries = new Map<string, Promise<LegacyHashes>>();

  /** The digests of the image with this SHA-256, computing them (once, even if asked concurrently). */
  get(sha256: string, open: () => Promise<AsyncIterable<Uint8Array>>): Promise<LegacyHashes> {
    const hit = this.#entries.get(sha256);
    if (hit) return hit;
    const p = digest(open);
    this.#entries.set(sha256, p);
    // A failed computation is not cached: the next request tries again.
    p.catch(() => this.#entries.delete(sha256));
    while (this.#entries.size > MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return p;
  }
}

async function digest(open: () => Promise<AsyncIterable<Uint8Array>>): Promise<LegacyHashes> {
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  for await (const chunk of await open()) {
    sha1.update(chunk);
    md5.update(chunk);
  }
  return { sha1: sha1.digest('hex'), md5: md5.digest('hex') };
}
