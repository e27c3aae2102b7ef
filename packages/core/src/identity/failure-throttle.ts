/**
 * A failure throttle: counts failures per key (a source address, a source + account, a device id
 * …) in a sliding quiet window and, past a threshold, blocks the key with a backoff that doubles
 * per further failure. Pure, in memory, clock injected, and bounded: it remembers at most
 * `maxKeys` keys and forgets the least recently failed one first, so a flood of distinct keys costs
 * a fixed amount of memory (decision 0013). It decides nothing by itself — the caller asks
 * `retryAfterMs` before it checks a credential, then reports `failed` or `succeeded`.
 *
 * Used for HTTP logins (per source, per source + account) and bearer credentials (per source);
 * written to be used the same way for MQTT passwords, device keys and CoAP.
 */
import type { Clock } from '../ports/clock.js';

/** How a throttle counts and blocks. */
export interface ThrottlePolicy {
  /** Failures of one key before it is blocked (the `threshold`-th failure starts the block). */
  threshold: number;
  /** A key with no failure for this long starts again from zero (unless still blocked). */
  windowMs: number;
  /** The first block; each further failure doubles it. */
  baseBlockMs: number;
  /** The longest block. */
  maxBlockMs: number;
  /** Keys remembered at most; the least recently failed key is forgotten first. */
  maxKeys: number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/** Counts failures per key and says how long a key must wait. */
export class FailureThrottle {
  readonly #policy: ThrottlePolicy;
  readonly #clock: Clock;
  // A Map iterates in insertion order: re-inserting on every failure makes it an LRU.
  readonly #entries = new Map<string, Entry>();

  constructor(policy: ThrottlePolicy, clock: Clock) {
    if (policy.threshold < 1 || policy.maxKeys < 1)
      throw new RangeError('threshold and maxKeys must be at least 1');
    this.#policy = policy;
    this.#clock = clock;
  }

  /** Milliseconds until every one of `keys` may try again (0: none is blocked). */
  retryAfterMs(keys: readonly string[]): number {
    const now = this.#clock.now();
    let wait = 0;
    for (const k of keys) {
      const e = this.#entries.get(k);
      if (e) wait = Math.max(wait, e.blockedUntil - now);
    }
    return wait;
  }

  /**
   * Records one failure for each key and returns how long the caller must now wait (the largest
   * block among the keys; 0 while all are under the threshold).
   */
  failed(keys: readonly string[]): number {
    const now = this.#clock.now();
    const { threshold, windowMs, baseBlockMs, maxBlockMs } = this.#policy;
    let wait = 0;
    for (const k of new Set(keys)) {
      let e = this.#entries.get(k);
      if (e) this.#entries.delete(k);
      if (!e || (now - e.lastFailureAt > windowMs && e.blockedUntil <= now))
        e = { failures: 0, lastFailureAt: now, blockedUntil: 0 };
      e.failures += 1;
      e.lastFailureAt = now;
      const over = e.failures - threshold;
      if (over >= 0) {
        // 2^over overflows to Infinity long before it matters; min() caps it.
        e.blockedUntil = now + Math.min(maxBlockMs, baseBlockMs * 2 ** Math.min(over, 52));
      }
      this.#entries.set(k, e);
      wait = Math.max(wait, e.blockedUntil - now);
    }
    this.#evict(now);
    return wait;
  }

  /** Forgets the keys (a success proves the caller for them; pass only keys it proves). */
  succeeded(keys: readonly string[]): void {
    for (const k of keys) this.#entries.delete(k);
  }

  /** How many keys are remembered (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #evict(now: number): void {
    const { maxKeys, windowMs } = this.#policy;
    // Oldest (least recently failed) first: drop what is over the bound, then what has expired,
    // and stop at the first live entry, so each call costs O(1) amortized.
    for (const [k, e] of this.#entries) {
      const expired = now - e.lastFailureAt > windowMs && e.blockedUntil <= now;
      if (this.#entries.size <= maxKeys && !expired) break;
      this.#entries.delete(k);
    }
  }
}
