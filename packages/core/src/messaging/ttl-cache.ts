/**
 * A small bounded cache with a time-to-live, for the hot authorization lookups (channel, connection)
 * that every published message makes. Changes made on this node invalidate at once; changes made on
 * another node are seen within the TTL.
 */
export class TtlCache<V> {
  readonly #map = new Map<string, { value: V; until: number }>();
  /** Lookups in flight, so a burst of misses for one key makes one query, not one each. */
  readonly #loading = new Map<string, Promise<V>>();
  /** Bumped by every invalidation: a lookup that started before one is not cached. */
  #generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.#map.size >= this.max) {
      // Evict the oldest insertion (Map keeps insertion order).
      const first = this.#map.keys().next();
      if (!first.done) this.#map.delete(first.value);
    }
    this.#map.set(key, { value, until: this.now() + this.ttlMs });
  }

  /**
   * The cached value, else the one lookup in flight for `flightKey` (default `key`), else a new
   * lookup. Its answer is cached under `key` when `keep` says so and nothing was invalidated
   * while it ran (an access change that lands mid-lookup is never hidden behind a stale entry).
   * A failed lookup is not cached; every waiter gets its error.
   */
  load(
    key: string,
    fetch: () => Promise<V>,
    opts: { keep?: (value: V) => boolean; flightKey?: string } = {},
  ): V | Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const flightKey = opts.flightKey ?? key;
    const inFlight = this.#loading.get(flightKey);
    if (inFlight !== undefined) return inFlight;
    const generation = this.#generation;
    const done = () => {
      if (this.#loading.get(flightKey) === p) this.#loading.delete(flightKey);
    };
    const p = fetch().then(
      (value) => {
        done();
        if (generation === this.#generation && (opts.keep?.(value) ?? true)) this.set(key, value);
        return value;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
    this.#loading.set(flightKey, p);
    return p;
  }

  delete(key: string): void {
    this.#generation++;
    this.#loading.clear();
    this.#map.delete(key);
  }

  /** Drops every key starting with `prefix`. */
  deletePrefix(prefix: string): void {
    this.#generation++;
    this.#loading.clear();
    for (const k of this.#map.keys()) if (k.startsWith(prefix)) this.#map.delete(k);
  }
}
