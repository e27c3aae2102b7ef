/**
 * Time-bucketed counters (decision 0034): a metric of one device or source is a ring of fixed
 * buckets (10 s each), so a window's value is the sum of the buckets it covers and memory per
 * counter is bounded by the longest window, however many events arrive.
 */

/** The width of one bucket; windows are whole buckets. */
export const BUCKET_MS = 10_000;

/** Bucket number of an instant. */
export const bucketOf = (at: number): number => Math.floor(at / BUCKET_MS);

/** A ring of buckets covering at least `spanBuckets` of the past. */
export class BucketCounter {
  #values: Float64Array;
  /** The bucket number each slot holds (a slot of an older bucket reads as 0). */
  #bucketOfSlot: Float64Array;

  constructor(spanBuckets: number) {
    const n = Math.max(1, spanBuckets) + 1;
    this.#values = new Float64Array(n);
    this.#bucketOfSlot = new Float64Array(n).fill(-1);
  }

  /** How many past buckets it remembers. */
  get span(): number {
    return this.#values.length - 1;
  }

  /** Adds `n` at `at`. */
  add(at: number, n = 1): void {
    const b = bucketOf(at);
    const slot = b % this.#values.length;
    if (this.#bucketOfSlot[slot] !== b) {
      this.#bucketOfSlot[slot] = b;
      this.#values[slot] = 0;
    }
    this.#values[slot]! += n;
  }

  /** The sum of buckets `from` to `to` inclusive (only those still remembered count). */
  sumBuckets(from: number, to: number): number {
    const len = this.#values.length;
    let sum = 0;
    for (let b = Math.max(from, to - len + 1); b <= to; b++) {
      const slot = ((b % len) + len) % len;
      if (this.#bucketOfSlot[slot] === b) sum += this.#values[slot]!;
    }
    return sum;
  }

  /** The sum of the last `windowMs` ending with the bucket of `at` (a sliding window). */
  sliding(at: number, windowMs: number): number {
    const to = bucketOf(at);
    return this.sumBuckets(to - Math.ceil(windowMs / BUCKET_MS) + 1, to);
  }

  /** Grows the ring to remember at least `spanBuckets` (settings changed to a longer window). */
  grow(spanBuckets: number): void {
    if (spanBuckets <= this.span) return;
    const old = { values: this.#values, slots: this.#bucketOfSlot };
    const n = spanBuckets + 1;
    this.#values = new Float64Array(n);
    this.#bucketOfSlot = new Float64Array(n).fill(-1);
    for (let i = 0; i < old.values.length; i++) {
      const b = old.slots[i]!;
      if (b < 0) continue;
      this.#bucketOfSlot[b % n] = b;
      this.#values[b % n] = old.values[i]!;
    }
  }
}
