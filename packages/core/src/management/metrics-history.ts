/**
 * A device's health history (issue 15 item 3, decision 0038 third amendment of 2026-12-07): each
 * metrics report a device sends is kept as four small numbers (CPU, memory and disk use, open
 * connections) and answered in time buckets with avg/min/max. Writes are gathered for up to a
 * second into one statement; a device reporting faster than `minIntervalSeconds` has only one
 * report kept per interval (a flood from one device costs the hub nothing more to store);
 * retention deletes by age, a page of devices at a time.
 */
import { BulwarkError, MAX_HISTORY_BUCKETS, type DeviceMetrics } from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import type { Clock } from '../ports/clock.js';
import type {
  MetricsBucket,
  MetricsHistoryStore,
  MetricsSample,
} from '../ports/metrics-history.js';

/** Settings of the history. */
export interface MetricsHistoryConfig {
  /** Reports older than this are deleted; 0 keeps no history at all. */
  retentionDays: number;
  /** At most one report per device is kept per this many seconds. */
  minIntervalSeconds: number;
}

export const DEFAULT_METRICS_HISTORY_CONFIG: MetricsHistoryConfig = {
  retentionDays: 7,
  minIntervalSeconds: 20,
};

/** Rows one statement writes (6 parameters each: 3,000, inside both drivers' limits). */
const BATCH_MAX = 500;
/** How long a report waits for others to share its statement. */
const BATCH_MS = 1000;
/** Devices one retention statement covers. */
const PRUNE_DEVICES = 500;
/** The narrowest bucket: reports come every 30–60 s, finer buckets would hold nothing. */
const MIN_BUCKET_MS = 10_000;
/** The default answer: the range in about this many buckets, each a whole number of minutes. */
const DEFAULT_BUCKETS = 60;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A share of a total, in tenths of a percent (0–1,000); null when there is no total. */
const usedTenths = (x: { totalBytes: number; availableBytes: number }): number | null =>
  x.totalBytes > 0
    ? Math.round(Math.min(1, Math.max(0, (x.totalBytes - x.availableBytes) / x.totalBytes)) * 1000)
    : null;

/** The sample kept of one report (values clamped into their columns: 0–1,000 %, 32-bit count). */
export function sampleOf(deviceId: string, at: number, m: DeviceMetrics): MetricsSample {
  return {
    deviceId,
    at,
    cpu: Math.round(Math.min(1000, Math.max(0, m.cpuPercent)) * 10),
    memory: usedTenths(m.memory),
    disk: usedTenths(m.disk),
    connections: Math.min(m.connections, 2 ** 31 - 1),
  };
}

/** A history answer: the window, the bucket width and the buckets that hold reports. */
export interface MetricsHistory {
  from: number;
  to: number;
  bucketMs: number;
  buckets: MetricsBucket[];
}

/** The health history service of one hub node. */
export class MetricsHistoryService {
  readonly #config: MetricsHistoryConfig;
  /** Per device on this node: when its last kept report arrived. */
  readonly #lastKept = new Map<string, number>();
  #pending: MetricsSample[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #writing: Promise<void> = Promise.resolve();
  #onError: (err: unknown) => void = () => undefined;

  constructor(
    private readonly d: {
      store: MetricsHistoryStore;
      devices: Pick<DeviceService, 'get'>;
      clock: Clock;
      config?: MetricsHistoryConfig;
    },
  ) {
    this.#config = d.config ?? DEFAULT_METRICS_HISTORY_CONFIG;
  }

  /** Tells `fn` when a batch could not be written (its reports are lost; later batches go on). */
  onWriteError(fn: (err: unknown) => void): void {
    this.#onError = fn;
  }

  /** Keeps a report the device plane accepted (unless one was kept within the interval). */
  record(deviceId: string, m: DeviceMetrics): void {
    if (this.#config.retentionDays === 0) return;
    const now = this.d.clock.now();
    const last = this.#lastKept.get(deviceId);
    if (last !== undefined && now - last < this.#config.minIntervalSeconds * 1000) return;
    this.#lastKept.set(deviceId, now);
    this.#pending.push(sampleOf(deviceId, now, m));
    if (this.#pending.length >= BATCH_MAX) void this.flush();
    else if (this.#timer === null) {
      this.#timer = setTimeout(() => void this.flush(), BATCH_MS);
      // A pending batch never keeps the process alive: the hub flushes at stop.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Writes the reports waiting now; resolves when they (and earlier batches) are stored. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0)
      this.#writing = this.#writing.then(() =>
        this.d.store.append(batch).catch((err: unknown) => this.#onError(err)),
      );
    return this.#writing;
  }

  /**
   * The device's history in [from, to) in buckets of `bucketMs` (defaults: the last hour, about
   * 60 buckets). Another organization's device is not found; a reversed range, a bucket under
   * 10 s or more than MAX_HISTORY_BUCKETS buckets is refused.
   */
  async history(
    orgId: string,
    deviceId: string,
    q: { from?: number; to?: number; bucketMs?: number },
  ): Promise<MetricsHistory> {
    await this.d.devices.get(orgId, deviceId);
    // By default up to now, a report received this very millisecond included (`to` is exclusive).
    const to = q.to ?? this.d.clock.now() + 1;
    const from = q.from ?? to - HOUR_MS;
    if (!(from < to)) throw new BulwarkError('validation_failed', '`from` must be before `to`');
    const bucketMs =
      q.bucketMs ??
      Math.max(MIN_BUCKET_MS, Math.ceil((to - from) / DEFAULT_BUCKETS / 60_000) * 60_000);
    if (bucketMs < MIN_BUCKET_MS)
      throw new BulwarkError('validation_failed', 'the bucket must be at least 10s');
    if ((to - from) / bucketMs > MAX_HISTORY_BUCKETS)
      throw new BulwarkError(
        'validation_failed',
        `more than ${MAX_HISTORY_BUCKETS} buckets: widen the bucket or narrow the range`,
      );
    const buckets = await this.d.store.buckets(orgId, deviceId, from, to, bucketMs);
    // Stored in tenths of a percent; answered in percent.
    for (const b of buckets)
      for (const s of ['cpu', 'memory', 'disk'] as const) {
        const x = b.series[s];
        b.series[s] = {
          avg: x.avg === null ? null : Math.round(x.avg) / 10,
          min: x.min === null ? null : x.min / 10,
          max: x.max === null ? null : x.max / 10,
        };
      }
    return { from, to, bucketMs, buckets };
  }

  /** One retention pass over every device; returns the reports deleted. */
  async prune(): Promise<number> {
    const now = this.d.clock.now();
    const interval = this.#config.minIntervalSeconds * 1000;
    for (const [id, at] of this.#lastKept) if (now - at >= interval) this.#lastKept.delete(id);
    if (this.#config.retentionDays === 0) return 0;
    const before = now - this.#config.retentionDays * DAY_MS;
    let deleted = 0;
    let after: string | null = null;
    do {
      const r = await this.d.store.prune(before, after, PRUNE_DEVICES);
      deleted += r.deleted;
      after = r.lastId;
    } while (after !== null);
    return deleted;
  }
}
