/**
 * The gateway's firmware cache (decision 0040, item 5): verified artifact images on disk in
 * `stateDir/gateway/cache/`, each fetched from its source ONCE however many site devices ask at
 * the same time (one fetch per artifact; the others wait on it), checked against the length and
 * sha256 of the artifact's signed metadata before it is kept, evicted least recently used when
 * the images exceed `maxBytes` — never an image being served (a lease pins it).
 *
 * Files: `<artifactId>.img` (the image) and `<artifactId>.json` (length, sha256, fetched time); a
 * fetch writes `<artifactId>.part` and renames it only once it verified. Artifact ids are UUIDs,
 * checked before any path is built, so no id names a file outside the directory.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** An artifact id as the hub gives them (a UUID); nothing else reaches the file system. */
export const ARTIFACT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What the source says of an artifact, its signature already checked. */
export interface ArtifactFacts {
  length: number;
  sha256: string;
}

/** Where images come from (the hub, firmware-upstream.ts). */
export interface ArtifactSource {
  /** The artifact's verified facts; rejects with a CacheError `not_found` when there is none. */
  describe(id: string): Promise<ArtifactFacts>;
  /** The image's bytes from its start. */
  open(id: string, facts: ArtifactFacts): Promise<AsyncIterable<Uint8Array>>;
}

export type CacheErrorCode = 'not_found' | 'too_large' | 'verification_failed' | 'unavailable';

export class CacheError extends Error {
  constructor(
    readonly code: CacheErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CacheError';
  }
}

/** One image being read: `release()` once the response is done (the image may then be evicted). */
export interface Lease {
  id: string;
  path: string;
  length: number;
  sha256: string;
  release(): void;
}

interface Entry extends ArtifactFacts {
  id: string;
  usedAt: number;
  pins: number;
}

interface Flight {
  waiters: number;
  done: Promise<Entry>;
}

/** Counters since start (the status and the reported events carry them). */
export interface CacheStats {
  /** Image bytes sent to site devices. */
  servedBytes: number;
  /** Image bytes fetched from the source (including fetches that failed verification). */
  fetchedBytes: number;
  /** Requests answered from disk, requests that needed (or waited on) a fetch. */
  hits: number;
  misses: number;
  /** Fetches started, and those refused because the bytes did not verify. */
  fetches: number;
  verifyFailures: number;
  evictions: number;
}

export class FirmwareCache {
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Flight>();
  /** Files of evicted images being removed (a new fetch of the same id waits for it). */
  readonly #removing = new Map<string, Promise<void>>();
  #bytes = 0;
  readonly stats: CacheStats = {
    servedBytes: 0,
    fetchedBytes: 0,
    hits: 0,
    misses: 0,
    fetches: 0,
    verifyFailures: 0,
    evictions: 0,
  };

  constructor(
    private readonly o: {
      dir: string;
      maxBytes: number;
      source: ArtifactSource;
      now?: () => number;
      log: (level: 'warn' | 'info', msg: string) => void;
      /** Told of each image kept (after it verified). */
      onCached?: (id: string, facts: ArtifactFacts) => void;
    },
  ) {}

  /** Bytes served minus bytes fetched: what the uplink did not carry. */
  get savedBytes(): number {
    return this.stats.servedBytes - this.stats.fetchedBytes;
  }

  /** Images kept and their bytes. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  #now(): number {
    return (this.o.now ?? Date.now)();
  }

  #path(id: string, ext: 'img' | 'json' | 'part'): string {
    if (!ARTIFACT_ID.test(id)) throw new CacheError('not_found', `not an artifact id: ${id}`);
    return join(this.o.dir, `${id}.${ext}`);
  }

  /** Opens the directory (0700): keeps the images whose files are whole, drops the rest. */
  async load(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.o.dir)) {
      const m = /^(.*)\.(img|json|part)$/.exec(name);
      const id = m?.[1] ?? '';
      if (m === null || !ARTIFACT_ID.test(id) || m[2] === 'part') {
        await rm(join(this.o.dir, name), { force: true });
        continue;
      }
      if (m[2] !== 'json') continue;
      try {
        const meta = JSON.parse(await readFile(this.#path(id, 'json'), 'utf8')) as Record<
          string,
          unknown
        >;
        const { length, sha256, usedAt } = meta;
        if (typeof length !== 'number' || typeof sha256 !== 'string' || typeof usedAt !== 'number')
          throw new Error('bad record');
        if ((await stat(this.#path(id, 'img'))).size !== length) throw new Error('wrong size');
        this.#entries.set(id, { id, length, sha256, usedAt, pins: 0 });
        this.#bytes += length;
      } catch (err) {
        this.o.log('warn', `dropping cached image ${id}: ${(err as Error).message}`);
        await this.#remove(id);
      }
    }
    for (const name of await readdir(this.o.dir)) {
      const id = name.replace(/\.img$/, '');
      if (name.endsWith('.img') && !this.#entries.has(id)) await rm(join(this.o.dir, name));
    }
    await this.#evict();
  }

  /**
   * The image of `id` on disk, pinned until the lease is released: from the cache, else after one
   * verified fetch (concurrent callers share it). Rejects with a CacheError.
   */
  async acquire(id: string): Promise<Lease> {
    if (!ARTIFACT_ID.test(id)) throw new CacheError('not_found', 'not an artifact id');
    const kept = this.#entries.get(id);
    if (kept !== undefined) {
      this.stats.hits++;
      kept.pins++;
      kept.usedAt = this.#now();
      return this.#lease(kept);
    }
    this.stats.misses++;
    let f = this.#flights.get(id);
    if (f === undefined) {
      const flight: Flight = { waiters: 0, done: undefined as unknown as Promise<Entry> };
      flight.done = this.#fetch(id, flight);
      flight.done.then(
        () => this.#flights.delete(id),
        () => this.#flights.delete(id),
      );
      this.#flights.set(id, flight);
      f = flight;
    }
    // Pinned for every waiter when the fetch lands (pins = waiters then), so no eviction between.
    f.waiters++;
    return this.#lease(await f.done);
  }

  /** Counts bytes sent to a device. */
  served(n: number): void {
    this.stats.servedBytes += n;
  }

  #lease(e: Entry): Lease {
    let released = false;
    return {
      id: e.id,
      path: this.#path(e.id, 'img'),
      length: e.length,
      sha256: e.sha256,
      release: () => {
        if (released) return;
        released = true;
        e.pins--;
        if (this.#bytes > this.o.maxBytes) void this.#evict();
      },
    };
  }

  async #fetch(id: string, flight: Flight): Promise<Entry> {
    const facts = await this.o.source.describe(id);
    if (facts.length > this.o.maxBytes)
      throw new CacheError(
        'too_large',
        `artifact ${id} is ${facts.length} bytes, more than gateway.cache.maxBytes (${this.o.maxBytes})`,
      );
    this.stats.fetches++;
    const part = this.#path(id, 'part');
    const fh = await open(part, 'w', 0o600);
    const hash = createHash('sha256');
    let n = 0;
    try {
      try {
        for await (const chunk of await this.o.source.open(id, facts)) {
          n += chunk.byteLength;
          this.stats.fetchedBytes += chunk.byteLength;
          if (n > facts.length)
            throw new CacheError(
              'verification_failed',
              `more than the ${facts.length} bytes signed`,
            );
          hash.update(chunk);
          await fh.write(chunk);
        }
      } catch (err) {
        if (err instanceof CacheError) throw err;
        // A cut stream is a short image: refused like any other that does not verify.
        throw new CacheError('unavailable', `fetching ${id}: ${(err as Error).message}`);
      }
      if (n !== facts.length)
        throw new CacheError(
          'verification_failed',
          `${n} bytes, the metadata signs ${facts.length}`,
        );
      const digest = hash.digest('hex');
      if (digest !== facts.sha256)
        throw new CacheError(
          'verification_failed',
          `sha256 ${digest}, the metadata signs ${facts.sha256}`,
        );
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(part, { force: true });
      if (err instanceof CacheError && err.code === 'verification_failed') {
        this.stats.verifyFailures++;
        this.o.log('warn', `refused artifact ${id} from the hub: ${err.message}`);
      }
      throw err;
    }
    await fh.close();
    await this.#removing.get(id);
    const usedAt = this.#now();
    await writeFile(
      this.#path(id, 'json'),
      JSON.stringify({ length: facts.length, sha256: facts.sha256, usedAt }),
      { mode: 0o600 },
    );
    await rename(part, this.#path(id, 'img'));
    const e: Entry = { id, ...facts, usedAt, pins: flight.waiters };
    this.#entries.set(id, e);
    this.#bytes += e.length;
    this.o.onCached?.(id, facts);
    await this.#evict();
    return e;
  }

  /** Drops least recently used, unpinned images until the rest fit `maxBytes`. */
  async #evict(): Promise<void> {
    if (this.#bytes <= this.o.maxBytes) return;
    const idle = [...this.#entries.values()]
      .filter((e) => e.pins === 0)
      .sort((a, b) => a.usedAt - b.usedAt);
    for (const e of idle) {
      if (this.#bytes <= this.o.maxBytes) break;
      if (e.pins > 0 || this.#entries.get(e.id) !== e) continue;
      this.#entries.delete(e.id);
      this.#bytes -= e.length;
      this.stats.evictions++;
      await this.#remove(e.id);
      this.o.log('info', `evicted artifact ${e.id} (${e.length} bytes) from the firmware cache`);
    }
  }

  #remove(id: string): Promise<void> {
    const p = Promise.all(
      (['img', 'json'] as const).map((x) => rm(this.#path(id, x), { force: true })),
    ).then(() => undefined);
    this.#removing.set(id, p);
    void p.finally(() => {
      if (this.#removing.get(id) === p) this.#removing.delete(id);
    });
    return p;
  }
}
