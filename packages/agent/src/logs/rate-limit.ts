/**
 * Per-source rate limits of log lines (decision 0032): a token bucket per source (`linesPerSecond`
 * refilled, up to `burst`). A line over the limit is dropped and counted; when the source is
 * admitted again — or at the next `sweep` if it went quiet — one marker record says how many
 * lines were suppressed, so a reader at the hub knows there is a gap and how big.
 */
import type { LogLevel } from '@bulwark/protocol';

/** The marker for suppressed lines. */
export interface SuppressedMarker {
  source: string;
  suppressed: number;
  level: LogLevel;
  message: string;
  fields: { suppressed: number };
}

interface Bucket {
  tokens: number;
  at: number;
  suppressed: number;
}

/** Rate limits per source. */
export class LogRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  /** Lines suppressed since start, all sources. */
  suppressedTotal = 0;

  constructor(
    private readonly linesPerSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  /**
   * May a line of `source` go out now? Returns `{ ok, marker? }`: the marker (for lines suppressed
   * before this one) goes out just before the admitted line.
   */
  admit(source: string): { ok: boolean; marker?: SuppressedMarker } {
    const b = this.#refill(source);
    if (b.tokens < 1) {
      b.suppressed++;
      this.suppressedTotal++;
      return { ok: false };
    }
    b.tokens -= 1;
    const marker = this.#marker(source, b);
    return marker === undefined ? { ok: true } : { ok: true, marker };
  }

  /** Markers of the sources that suppressed lines and have been quiet since (call periodically). */
  sweep(): SuppressedMarker[] {
    const out: SuppressedMarker[] = [];
    for (const source of this.#buckets.keys()) {
      const b = this.#refill(source);
      // Only once the bucket refilled past one line: the source is not being cut right now.
      if (b.tokens < 1) continue;
      const m = this.#marker(source, b);
      if (m) out.push(m);
      if (b.suppressed === 0 && b.tokens >= this.burst) this.#buckets.delete(source);
    }
    return out;
  }

  /** Whether some source has suppressed lines not yet reported. */
  cutting(): boolean {
    for (const b of this.#buckets.values()) if (b.suppressed > 0) return true;
    return false;
  }

  #refill(source: string): Bucket {
    const now = this.now();
    let b = this.#buckets.get(source);
    if (b === undefined) {
      b = { tokens: this.burst, at: now, suppressed: 0 };
      this.#buckets.set(source, b);
    }
    const dt = Math.max(0, now - b.at) / 1000;
    b.tokens = Math.min(this.burst, b.tokens + dt * this.linesPerSecond);
    b.at = now;
    return b;
  }

  #marker(source: string, b: Bucket): SuppressedMarker | undefined {
    if (b.suppressed === 0) return undefined;
    const n = b.suppressed;
    b.suppressed = 0;
    return {
      source,
      suppressed: n,
      level: 'warning',
      message: `suppressed ${n} lines (rate limit ${this.linesPerSecond} lines/s)`,
      fields: { suppressed: n },
    };
  }
}
