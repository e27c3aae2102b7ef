/**
 * Full-jitter exponential backoff ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
 * each wait is uniform in [0, min(max, min·2^attempt)], so a fleet that lost a hub at the same
 * instant spreads its reconnects over the window instead of arriving in synchronized waves.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next wait, in milliseconds; each call widens the window up to `maxMs`. */
  next(): number {
    // 2^30 already exceeds any max we allow; capping the exponent keeps the number finite.
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(this.random() * ceiling);
  }

  /** Back to the narrowest window (after a successful connection). */
  reset(): void {
    this.attempt = 0;
  }

  /** How many waits in a row so far. */
  get attempts(): number {
    return this.attempt;
  }
}
