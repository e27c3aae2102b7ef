/**
 * Learned baselines (decision 0034): robust statistics — the median and the median absolute
 * deviation (MAD) — of a device's per-window values. One outlier moves neither, so a few bursty
 * windows in the learning period do not widen the band the way a mean and standard deviation
 * would; a minimum absolute deviation keeps a near-constant metric (MAD 0) from firing on noise.
 */

/** MAD × this estimates the standard deviation of normally distributed values. */
export const MAD_SCALE = 1.4826;

/** Window values a baseline keeps (the newest): a few hours of one-minute windows. */
export const MAX_SAMPLES = 240;

/** Fewer window values than this is too little history to judge by, whatever the time learned. */
export const MIN_SAMPLES = 10;

/** The median of values (sorted copy; empty → NaN). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The median absolute deviation from the median. */
export function mad(values: readonly number[], m = median(values)): number {
  return median(values.map((v) => Math.abs(v - m)));
}

/** What a baseline says: its centre and spread. */
export interface BaselineStats {
  median: number;
  mad: number;
  samples: number;
}

/** The band a value is expected in: median ± max(k·MAD·scale, minDeviation). */
export function bandOf(
  s: Pick<BaselineStats, 'median' | 'mad'>,
  k: number,
  minDeviation: number,
): { low: number; high: number } {
  const half = Math.max(k * s.mad * MAD_SCALE, minDeviation);
  return { low: Math.max(0, s.median - half), high: s.median + half };
}

/** The stored shape of a baseline (compact JSON). */
export interface BaselineData {
  /** Window values, oldest first, at most MAX_SAMPLES. */
  s: number[];
  /** When learning started (epoch ms). */
  f: number;
}

/** One device's baseline of one metric. */
export class Baseline {
  readonly samples: number[];
  readonly firstAt: number;
  #stats: BaselineStats | undefined;

  constructor(data: BaselineData) {
    this.samples = data.s.slice(-MAX_SAMPLES);
    this.firstAt = data.f;
  }

  /** Learns one window's value. */
  push(value: number): void {
    this.samples.push(value);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
    this.#stats = undefined;
  }

  /** Has it learned long enough (time and samples) to judge by? */
  learned(now: number, learningMs: number): boolean {
    return now - this.firstAt >= learningMs && this.samples.length >= MIN_SAMPLES;
  }

  /** Median and MAD of what it learned (cached until the next sample). */
  stats(): BaselineStats {
    if (!this.#stats) {
      const m = median(this.samples);
      this.#stats = { median: m, mad: mad(this.samples, m), samples: this.samples.length };
    }
    return this.#stats;
  }

  /** Its stored form. */
  toData(): BaselineData {
    return { s: this.samples.map((v) => Math.round(v * 1000) / 1000), f: this.firstAt };
  }

  /** Parses a stored form; undefined when it is not one. */
  static parse(json: string): Baseline | undefined {
    try {
      const d = JSON.parse(json) as Partial<BaselineData>;
      if (!Array.isArray(d.s) || typeof d.f !== 'number') return undefined;
      const s = d.s.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return new Baseline({ s, f: d.f });
    } catch {
      return undefined;
    }
  }
}

/**
 * A group's baseline (devices of one type): the median of its learned members' medians and of
 * their MADs — a device with too little history is held to what its peers do.
 */
export function groupStats(members: readonly BaselineStats[]): BaselineStats | undefined {
  if (members.length === 0) return undefined;
  return {
    median: median(members.map((m) => m.median)),
    mad: median(members.map((m) => m.mad)),
    samples: members.reduce((n, m) => n + m.samples, 0),
  };
}
