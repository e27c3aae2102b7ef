/**
 * A small bounded cache with a time-to-live, for the hot authorization lookups (channel, connection)
 * that every published message makes. Changes made on this node invalidate at once; changes made on
 * another node are seen within the TTL.
 */
export class TtlCache<V> {
  readonly #map = new Map<string, { value: V; until: number }>();

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

  delete(key: string): void {
    this.#map.delete(key);
  }

  /** Drops every key starting with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const k of this.#map.keys()) if (k.startsWith(prefix)) this.#map.delete(k);
  }
}
