import { BulwarkError } from '@bulwark/protocol';
import type { Envelope, MessageStore } from '../ports/messaging.js';

/** How the writer batches (decision 0019). */
export interface BatchWriterOptions {
  /** Most envelopes in one batch. */
  maxBatch: number;
  /** Most bytes (see `envelopeBytes`) in one batch; a larger envelope is written alone. */
  maxBatchBytes: number;
  /** Envelopes waiting beyond this are refused (quota_exceeded), never silently dropped. */
  maxQueue: number;
  /** Bytes waiting beyond this are refused (quota_exceeded): bounds memory, not just count. */
  maxQueueBytes: number;
  /**
   * Batches written at once, at most. Unset: what the store allows (`store.concurrentBatches`),
   * else 1. Batches in flight together never share a channel.
   */
  maxInFlight?: number;
  /**
   * Backpressure (`pressure()`): from this many envelopes waiting, callers that can stop reading
   * (an MQTT connection) wait until the queue is back to half of it, instead of being refused at
   * `maxQueue`. Unset: half of `maxQueue`.
   */
  highWater?: number;
}

// 1,000 rows is where a multi-row insert stops getting cheaper per row (bench/write-path.mjs);
// 4 MiB keeps one batch (and one SQLite transaction) short even with large payloads.
// 50,000 envelopes is ~2-3 s of the goal rate; 64 MiB keeps a flood of 256 KiB payloads (the
// default payload limit) from holding more than that in memory while storage catches up.
export const DEFAULT_WRITER_OPTIONS: BatchWriterOptions = {
  maxBatch: 1000,
  maxBatchBytes: 4 * 1024 * 1024,
  maxQueue: 50_000,
  maxQueueBytes: 64 * 1024 * 1024,
};

/** What one envelope counts against the byte limits: its payload, records and a fixed overhead. */
export function envelopeBytes(e: Envelope): number {
  return 128 + e.payload.byteLength + 64 * (e.senml?.length ?? 0);
}

interface Pending {
  envelope: Envelope;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** One channel's waiting envelopes, in write order; busy while some of them are in flight. */
interface Lane {
  items: Pending[];
  busy: boolean;
}

/** Counters of the writer, for metrics. */
export interface WriterStats {
  batches: number;
  rows: number;
  refused: number;
  failed: number;
  /** Envelopes waiting (not yet in a batch). */
  queued: number;
  /** Bytes waiting. */
  queuedBytes: number;
  /** Batches being written now. */
  inFlight: number;
  /** Duration of the last batch write, ms. */
  lastWriteMs: number;
  /** Times the queue crossed its high-water mark and producers were asked to wait. */
  pressured: number;
}

/**
 * Persists envelopes by group commit: `write` resolves only once the envelope's batch is committed,
 * so a caller that acknowledges after `write` acknowledges only stored messages.
 *
 * - Idle: a write is written at the end of the current event-loop turn (no timer), together with
 *   whatever else arrived in that turn.
 * - Busy: while batches are in flight, new envelopes gather; each finished batch frees a slot and
 *   the next batch (up to `maxBatch` / `maxBatchBytes`) goes at once. So batches grow with load.
 * - Order: a channel is in at most one batch in flight and its envelopes enter batches in `write`
 *   order, so one channel's envelopes commit in the order they were written. Different channels
 *   are written side by side (up to `maxInFlight` batches) and may commit in any order.
 * - Saturation: beyond `maxQueue` envelopes or `maxQueueBytes` waiting, `write` refuses at once
 *   (quota_exceeded); a failed batch rejects exactly its own writers (unavailable).
 */
export class BatchWriter {
  readonly #lanes = new Map<string, Lane>();
  /** Channels with waiting envelopes and nothing in flight, oldest first (a Set keeps order). */
  readonly #ready = new Set<string>();
  readonly #maxInFlight: number;
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];
  readonly #highWater: number;
  readonly #highWaterBytes: number;
  /** Settles when the queue is back under the low-water mark; set while above high water. */
  #relief: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly stats: WriterStats = {
    batches: 0,
    rows: 0,
    refused: 0,
    failed: 0,
    queued: 0,
    queuedBytes: 0,
    inFlight: 0,
    lastWriteMs: 0,
    pressured: 0,
  };

  constructor(
    private readonly store: MessageStore,
    private readonly opts: BatchWriterOptions = DEFAULT_WRITER_OPTIONS,
    private readonly observe?: (batch: { rows: number; ms: number; error?: unknown }) => void,
  ) {
    this.#maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? store.concurrentBatches ?? 1));
    this.#highWater = Math.max(1, Math.floor(opts.highWater ?? opts.maxQueue / 2));
    this.#highWaterBytes = Math.max(1, Math.floor(opts.maxQueueBytes / 2));
  }

  /**
   * Backpressure for callers that can wait before handing over more (decision 0033): undefined
   * while the queue is under its high-water mark (`highWater` envelopes, half of `maxQueueBytes`);
   * above it, a promise that settles once the queue has drained to half the mark (or the writer
   * closed). `coming`: envelopes already accepted for writing that are not in the queue yet (they
   * count against the mark, so a burst handed over in one turn cannot overshoot it). One promise
   * is shared by every waiter, so checking costs nothing per message. A
   * caller that waits on it stops adding, so the queue stays under `maxQueue` and `write` is not
   * refused for saturation while every producer honours it.
   */
  pressure(coming = 0): Promise<void> | undefined {
    if (this.#relief !== undefined) return this.#relief.promise;
    if (
      this.stats.queued + coming < this.#highWater &&
      this.stats.queuedBytes < this.#highWaterBytes
    )
      return undefined;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#relief = { promise, resolve };
    this.stats.pressured++;
    return promise;
  }

  /** Lets the waiters of `pressure()` go once the queue is under the low-water mark. */
  #relieve(force = false): void {
    const relief = this.#relief;
    if (relief === undefined) return;
    if (
      force ||
      (this.stats.queued <= this.#highWater / 2 &&
        this.stats.queuedBytes <= this.#highWaterBytes / 2)
    ) {
      this.#relief = undefined;
      relief.resolve();
    }
  }

  /** Resolves when the envelope is committed; rejects when refused or when its batch failed. */
  write(envelope: Envelope): Promise<void> {
    if (this.#closed)
      return Promise.reject(new BulwarkError('unavailable', 'the message writer is closed'));
    const bytes = envelopeBytes(envelope);
    if (
      this.stats.queued >= this.opts.maxQueue ||
      (this.stats.queued > 0 && this.stats.queuedBytes + bytes > this.opts.maxQueueBytes)
    ) {
      this.stats.refused++;
      return Promise.reject(
        new BulwarkError('quota_exceeded', 'the storage writer is saturated; retry later'),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const key = `${envelope.orgId}\u0000${envelope.channelId}`;
      let lane = this.#lanes.get(key);
      if (lane === undefined) {
        lane = { items: [], busy: false };
        this.#lanes.set(key, lane);
      }
      lane.items.push({ envelope, bytes, resolve, reject });
      this.stats.queued++;
      this.stats.queuedBytes += bytes;
      if (!lane.busy) this.#ready.add(key);
      this.#schedule();
    });
  }

  /** Writes at the end of this event-loop turn, so writes arriving in the same turn share a batch. */
  #schedule(): void {
    if (this.#scheduled || this.stats.inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Starts batches while there is a free slot and a channel with nothing in flight. */
  #pump(): void {
    while (this.stats.inFlight < this.#maxInFlight && this.#ready.size > 0) {
      const batch: Pending[] = [];
      const keys: string[] = [];
      let bytes = 0;
      for (const key of this.#ready) {
        const lane = this.#lanes.get(key);
        if (lane === undefined) continue;
        let taken = 0;
        while (taken < lane.items.length && batch.length < this.opts.maxBatch) {
          const p = lane.items[taken] as Pending;
          if (batch.length > 0 && bytes + p.bytes > this.opts.maxBatchBytes) break;
          batch.push(p);
          bytes += p.bytes;
          taken++;
        }
        if (taken === 0) break;
        lane.items.splice(0, taken);
        lane.busy = true;
        this.#ready.delete(key);
        keys.push(key);
        if (lane.items.length > 0) break; // the batch is full
      }
      this.stats.queued -= batch.length;
      this.stats.queuedBytes -= bytes;
      this.stats.inFlight++;
      void this.#write(batch, keys);
    }
    this.#relieve();
  }

  async #write(batch: Pending[], keys: string[]): Promise<void> {
    const t0 = performance.now();
    let error: unknown;
    try {
      await this.store.appendBatch(batch.map((p) => p.envelope));
    } catch (err) {
      error = err ?? new Error('appendBatch failed');
    }
    const ms = performance.now() - t0;
    this.stats.inFlight--;
    for (const key of keys) {
      const lane = this.#lanes.get(key);
      if (lane === undefined) continue;
      lane.busy = false;
      if (lane.items.length > 0) this.#ready.add(key);
      else this.#lanes.delete(key);
    }
    if (error === undefined) {
      this.stats.batches++;
      this.stats.rows += batch.length;
      this.stats.lastWriteMs = ms;
      this.#observe({ rows: batch.length, ms });
      for (const p of batch) p.resolve();
    } else {
      this.stats.failed += batch.length;
      this.#observe({ rows: batch.length, ms, error });
      const refusal = new BulwarkError('unavailable', 'the message could not be stored', {
        cause: error,
      });
      for (const p of batch) p.reject(refusal);
    }
    // Group commit: what gathered while this batch was in flight goes now, not after a timer.
    this.#pump();
    if (this.stats.inFlight === 0 && this.stats.queued === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const done of idle) done();
    }
  }

  /** Tells the observer (metrics); an observer that throws must not strand the batch's writers. */
  #observe(batch: { rows: number; ms: number; error?: unknown }): void {
    try {
      this.observe?.(batch);
    } catch {
      // Metrics are best effort.
    }
  }

  /** Resolves once nothing is waiting or in flight. */
  flush(): Promise<void> {
    if (this.stats.inFlight === 0 && this.stats.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Refuses further writes (unavailable), then resolves once everything accepted is written. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#relieve(true);
    await this.flush();
  }
}
