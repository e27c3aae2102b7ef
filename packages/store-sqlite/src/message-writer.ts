import { Worker } from 'node:worker_threads';
import type { Envelope } from '@bulwark/core';
import { packBatch, type PackedBatch } from './writer-batch.js';

/** What the writer thread is started with. */
export interface WriterThreadData {
  path: string;
  /** SQLite `synchronous` level (1 NORMAL, 2 FULL). */
  synchronous: number;
  busyTimeoutMs: number;
}

/** Main thread → writer thread. */
export type WriterRequest = { kind: 'append'; id: number; batch: PackedBatch } | { kind: 'close' };

/** Writer thread → main thread: one reply per append, in order. */
export interface WriterReply {
  id: number;
  error?: string;
}

/** Appends batches on the writer thread; `close` lets it finish and stops it. */
export interface ThreadAppender {
  append(envelopes: readonly Envelope[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the writer thread lazily (on the first append) and again after it died: a dead thread
 * fails the batches it held (their writers are refused, nothing is acknowledged), not the hub.
 * The thread keeps the process alive only while a batch is pending.
 */
export function threadAppender(data: WriterThreadData): ThreadAppender {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  const inFlight = new Set<Promise<void>>();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const start = (): Worker => {
    const w = new Worker(new URL('./message-writer-thread.js', import.meta.url), {
      workerData: data,
    });
    w.on('message', (reply: WriterReply) => {
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if (reply.error === undefined) p?.resolve();
      else p?.reject(new Error(reply.error));
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(new Error(`the message writer thread stopped (exit code ${code})`));
    });
    return w;
  };
  return {
    append(envelopes) {
      worker ??= start();
      const w = worker;
      const id = ++nextId;
      const done = new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.ref();
        const batch = packBatch(envelopes);
        w.postMessage({ kind: 'append', id, batch } satisfies WriterRequest, [batch.bytes.buffer]);
      });
      inFlight.add(done);
      const forget = () => inFlight.delete(done);
      done.then(forget, forget);
      return done;
    },
    async close() {
      // Every batch already handed over is answered before the thread stops.
      await Promise.allSettled([...inFlight]);
      const w = worker;
      if (w === undefined) return;
      worker = undefined;
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.ref();
      // Appends posted before this are answered first: the thread handles messages in order.
      w.postMessage({ kind: 'close' } satisfies WriterRequest);
      await exited;
    },
  };
}
