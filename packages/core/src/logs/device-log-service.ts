/**
 * Central device logs (decision 0032): stores the batches devices ship on `$devices/{id}/logs`
 * (the device plane hands them here after the parser checked them; the MQTT PUBACK follows the
 * commit, so the agent drops from its buffer only what is stored), answers queries by time,
 * level, source and text, lets a reader follow a device's new records (a long poll woken by this
 * node's writes and, for writes on other nodes, by a short re-check), and prunes by age and by
 * rows per device.
 */
import {
  BulwarkError,
  LOG_LEVELS,
  type DeviceLogBatch,
  type DeviceLogFollowQuery,
  type DeviceLogListQuery,
} from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { DeviceLogFilter, DeviceLogRow, DeviceLogStore } from '../ports/device-logs.js';
import type { Page } from '../ports/records.js';
import { encodeIdCursor } from '../shared/cursor.js';
import { newId } from '../shared/ids.js';
import { compileLogRegex, REGEX_SCAN_BOUND, type MessageTest } from './log-grep.js';

/** Retention of device logs. */
export interface DeviceLogConfig {
  /** Records received longer ago than this are deleted; 0 keeps them however old. */
  retentionDays: number;
  /** A device keeps at most this many records (the oldest go first); 0: no count limit. */
  maxRowsPerDevice: number;
}

export const DEFAULT_DEVICE_LOG_CONFIG: DeviceLogConfig = {
  retentionDays: 14,
  maxRowsPerDevice: 100_000,
};

/** Rows one prune statement deletes: short statements, so writers are never held up for long. */
const PRUNE_CHUNK = 10_000;
/** Chunks one prune pass deletes at most (the next pass goes on). */
const PRUNE_CHUNKS_PER_PASS = 100;
/** A follower re-checks this often for records another hub node stored. */
const FOLLOW_RECHECK_MS = 1000;
/** Records one regex pass fetches at a time. */
const REGEX_PAGE = 200;

const DAY_MS = 86_400_000;

/** What the service works with. */
export interface DeviceLogDeps {
  store: DeviceLogStore;
  devices: Pick<DeviceService, 'get'>;
  clock: Clock;
  config?: DeviceLogConfig;
  /** Told of each stored batch (the console's live device page). */
  events?: DomainEvents;
  /** How often a follower re-checks for other nodes' writes (tests shorten it). */
  recheckMs?: number;
}

const key = (orgId: string, deviceId: string) => `${orgId}/${deviceId}`;

/** The service of central device logs. */
export class DeviceLogService {
  readonly #d: DeviceLogDeps;
  readonly #config: DeviceLogConfig;
  /** Devices that stored records since the last prune (their row limit is checked then). */
  readonly #touched = new Map<string, { orgId: string; deviceId: string }>();
  /** Followers waiting for a device's next records. */
  readonly #waiters = new Map<string, Set<() => void>>();
  #closed = false;

  constructor(d: DeviceLogDeps) {
    this.#d = d;
    this.#config = d.config ?? DEFAULT_DEVICE_LOG_CONFIG;
  }

  /**
   * Stores a checked batch (log-payloads.ts) in one statement; a `dropped` count becomes a marker
   * record from the hub saying how many records the device's full buffer lost. Returns the
   * number of records stored.
   */
  async ingest(orgId: string, deviceId: string, batch: DeviceLogBatch): Promise<number> {
    const now = this.#d.clock.now();
    const rows: DeviceLogRow[] = [];
    if (batch.dropped !== undefined && batch.dropped > 0)
      rows.push({
        id: newId(now),
        orgId,
        deviceId,
        ts: now,
        receivedAt: now,
        priority: LOG_LEVELS.indexOf('warning'),
        source: 'hub',
        message: `the device dropped ${batch.dropped} log records: its buffer was full`,
        fields: { dropped: batch.dropped },
      });
    for (const r of batch.records)
      rows.push({
        id: newId(now),
        orgId,
        deviceId,
        ts: Date.parse(r.ts),
        receivedAt: now,
        priority: LOG_LEVELS.indexOf(r.level),
        source: r.source,
        message: r.message,
        fields: r.fields !== undefined && Object.keys(r.fields).length > 0 ? r.fields : null,
      });
    if (rows.length === 0) return 0;
    await this.#d.store.append(rows);
    this.#d.events?.emit({
      type: 'device.logs_stored',
      orgId,
      deviceId,
      count: rows.length,
      at: now,
    });
    const k = key(orgId, deviceId);
    this.#touched.set(k, { orgId, deviceId });
    const waiting = this.#waiters.get(k);
    if (waiting) for (const wake of waiting) wake();
    return rows.length;
  }

  /** A device's records, filtered, paginated. Another organization's device is not found. */
  async list(orgId: string, deviceId: string, q: DeviceLogListQuery): Promise<Page<DeviceLogRow>> {
    await this.#d.devices.get(orgId, deviceId);
    const { filter, test } = this.#filter(q);
    const order = q.order ?? 'newest';
    const limit = q.limit ?? 50;
    if (test === undefined)
      return this.#d.store.list(orgId, deviceId, filter, {
        order,
        limit,
        cursor: q.cursor ?? null,
      });
    // A regular expression: scan pages in order, keep the matches, stop at the page size or the
    // scan bound, and hand back a cursor at the last record looked at.
    const items: DeviceLogRow[] = [];
    let cursor = q.cursor ?? null;
    let rows = 0;
    let chars = 0;
    for (;;) {
      const page = await this.#d.store.list(orgId, deviceId, filter, {
        order,
        limit: REGEX_PAGE,
        cursor,
      });
      for (const [i, r] of page.items.entries()) {
        rows++;
        chars += r.message.length;
        if (test(r.message)) items.push(r);
        const full = items.length === limit;
        if (full || rows >= REGEX_SCAN_BOUND.rows || chars >= REGEX_SCAN_BOUND.chars) {
          const end = i === page.items.length - 1 && page.nextCursor === null;
          return { items, nextCursor: end ? null : encodeIdCursor(r.id) };
        }
      }
      if (page.nextCursor === null) return { items, nextCursor: null };
      cursor = page.nextCursor;
    }
  }

  /**
   * A device's records stored after `q.after` (without it: after the newest one now), oldest
   * first. Answers at once when there are some; otherwise waits up to `q.wait` seconds for them.
   * `last` is where the next request continues from.
   */
  async follow(
    orgId: string,
    deviceId: string,
    q: DeviceLogFollowQuery,
  ): Promise<{ items: DeviceLogRow[]; last: string | null }> {
    await this.#d.devices.get(orgId, deviceId);
    const { filter, test } = this.#filter({ ...q, since: undefined, until: undefined });
    const limit = q.limit ?? 100;
    let after = q.after ?? (await this.#d.store.lastId(orgId, deviceId)) ?? null;
    const deadline = Date.now() + (q.wait ?? 25) * 1000;
    for (;;) {
      const rows = await this.#d.store.after(orgId, deviceId, after, filter, limit);
      if (rows.length > 0) after = rows[rows.length - 1]!.id;
      const items = test === undefined ? rows : rows.filter((r) => test(r.message));
      const left = deadline - Date.now();
      if (items.length > 0 || left <= 0 || this.#closed) return { items, last: after };
      // More than a page that all failed the regex: go on at once.
      if (rows.length === limit) continue;
      await this.#wait(
        key(orgId, deviceId),
        Math.min(left, this.#d.recheckMs ?? FOLLOW_RECHECK_MS),
      );
    }
  }

  /**
   * One retention pass: records older than the retention, then each device that stored records
   * since the last pass trimmed to its row limit. Returns how many went.
   */
  async prune(): Promise<{ expired: number; trimmed: number }> {
    const store = this.#d.store;
    let expired = 0;
    if (this.#config.retentionDays > 0) {
      const before = this.#d.clock.now() - this.#config.retentionDays * DAY_MS;
      for (let i = 0; i < PRUNE_CHUNKS_PER_PASS; i++) {
        const n = await store.pruneReceivedBefore(before, PRUNE_CHUNK);
        expired += n;
        if (n < PRUNE_CHUNK) break;
      }
    }
    let trimmed = 0;
    const touched = [...this.#touched.values()];
    this.#touched.clear();
    if (this.#config.maxRowsPerDevice > 0)
      for (const t of touched)
        trimmed += await store.pruneDevice(t.orgId, t.deviceId, this.#config.maxRowsPerDevice);
    return { expired, trimmed };
  }

  /** Wakes every follower (they answer with what they have): the hub is stopping. */
  close(): void {
    this.#closed = true;
    for (const set of this.#waiters.values()) for (const wake of set) wake();
  }

  #wait(k: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#waiters.get(k) ?? new Set();
      this.#waiters.set(k, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.#waiters.delete(k);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  #filter(q: {
    since?: string | undefined;
    until?: string | undefined;
    level?: string | undefined;
    source?: string | undefined;
    grep?: string | undefined;
    regex?: boolean | undefined;
  }): { filter: DeviceLogFilter; test: MessageTest | undefined } {
    const filter: DeviceLogFilter = {};
    if (q.since !== undefined) filter.since = Date.parse(q.since);
    if (q.until !== undefined) filter.until = Date.parse(q.until);
    if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until)
      throw new BulwarkError('log_query_invalid', '"since" is after "until"');
    if (q.level !== undefined) filter.maxPriority = LOG_LEVELS.indexOf(q.level as never);
    if (q.source !== undefined) filter.source = q.source;
    let test: MessageTest | undefined;
    if (q.grep !== undefined) {
      if (q.regex === true) test = compileLogRegex(q.grep);
      else filter.contains = q.grep;
    }
    return { filter, test };
  }
}
