import { BulwarkError } from '@bulwark/protocol';
import type { Envelope, MessageStore } from '../ports/messaging.js';

/** How the writer batches. */
export interface BatchWriterOptions {
  /** Flush as soon as this many envelopes wait. */
  maxBatch: number;
  /** Flush at the latest this long after the first envelope of a batch arrived. */
  maxDelayMs: number;
  /** Envelopes waiting beyond this are refused (quota_exceeded), never silently dropped. */
  maxQueue: number;
}

export const DEFAULT_WRITER_OPTIONS: BatchWriterOptions = {
  maxBatch: 1000,
  maxDelayMs: 5,
  maxQueue: 50_000,
};

interface Pending {
  envelope: Envelope;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Counters of the writer, for metrics. */
export interface WriterStats {
  batches: number;
  rows: number;
  refused: number;
  failed: number;
  queued: number;
  /** Duration of the last batch write, ms. */
  lastWriteMs: number;
}

/**
 * Persists envelopes in batches: `write` resolves only once the envelope's batch is committed, so
 * a caller that acknowledges after `write` acknowledges only stored messages. One batch is in
 * flight at a time; a full queue refuses new envelopes visibly instead of growing without bound.
 */
export class BatchWriter {
  #queue: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  readonly stats: WriterStats = {
    batches: 0,
    rows: 0,
    refused: 0,
    failed: 0,
    queued: 0,
    lastWriteMs: 0,
  };

  constructor(
    private readonly store: MessageStore,
    private readonly opts: BatchWriterOptions = DEFAULT_WRITER_OPTIONS,
    private readonly observe?: (batch: { rows: number; ms: number; error?: unknown }) => void,
  ) {}

  /** Resolves when the envelope is committed; rejects when refused or when its batch failed. */
  write(envelope: Envelope): Promise<void> {
    if (this.#closed)
      return Promise.reject(new BulwarkError('unavailable', 'the message writer is closed'));
    if (this.#queue.length >= this.opts.maxQueue) {
      this.stats.refused++;
      return Promise.reject(
        new BulwarkError('quota_exceeded', 'the storage writer is saturated; retry later'),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ envelope, resolve, reject });
      this.stats.queued = this.#queue.length;
      if (this.#queue.length >= this.opts.maxBatch) this.#kick();
      else this.#timer ??= setTimeout(() => this.#kick(), this.opts.maxDelayMs);
    });
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.opts.maxBatch);
      this.stats.queued = this.#queue.length;
      const t0 = performance.now();
      try {
        await this.store.appendBatch(batch.map((p) => p.envelope));
        const ms = performance.now() - t0;
        this.stats.batches++;
        this.stats.rows += batch.length;
        this.stats.lastWriteMs = ms;
        this.observe?.({ rows: batch.length, ms });
        for (const p of batch) p.resolve();
      } catch (err) {
        this.stats.failed += batch.length;
        this.observe?.({ rows: batch.length, ms: performance.now() - t0, error: err });
        const refusal = new BulwarkError('unavailable', 'the message could not be stored', {
          cause: err,
        });
        for (const p of batch) p.reject(refusal);
      }
    }
  }

  /** Writes everything queued. */
  async flush(): Promise<void> {
    if (this.#queue.length > 0) this.#kick();
    while (this.#flushing) await this.#flushing;
  }

  /** Flushes, then refuses further writes. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
