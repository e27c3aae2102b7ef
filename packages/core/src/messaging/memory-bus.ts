/**
 * The in-process bus: the default `Bus` of a single hub node. Every subscriber has its own bounded
 * FIFO queue drained asynchronously, so handlers never run inside `publish`'s stack, a throwing
 * handler harms nobody else, and a slow handler holds publishers back instead of growing memory.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Bus, Envelope, Unsubscribe } from '../ports/messaging.js';

/** Options of createMemoryBus. */
export interface MemoryBusOptions {
  /**
   * Envelopes each subscriber may have waiting (default 10,000). When one subscriber's queue is
   * full, `publish` waits for room instead of dropping or growing: the bound is what keeps a slow
   * handler from exhausting memory, and its size absorbs bursts (about 1 s of a busy node).
   */
  maxQueue?: number;
  /** Told about every handler that throws or rejects (default: `console.error`). */
  onError?: (err: unknown, envelope: Envelope) => void;
}

/** Default per-subscriber queue bound: room for a burst, small enough to bound memory. */
export const DEFAULT_MEMORY_BUS_QUEUE = 10_000;

/**
 * Synchronous handlers called back to back before the drain yields to the event loop, so a busy
 * bus cannot starve sockets and timers.
 */
const DRAIN_BATCH = 256;

type Handler = (envelope: Envelope) => void;

/** A FIFO with O(1) push and shift (an array with a moving head, compacted now and then). */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T; // release the reference for the GC
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): T[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}

interface Subscriber {
  handler: Handler;
  queue: Fifo<Envelope>;
  active: boolean;
  /** A drain is scheduled or running. */
  draining: boolean;
}

interface WaitingPublish {
  envelope: Envelope;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Creates the in-process bus. Semantics, which the bus contract in @bulwark/testkit checks:
 * - `publish` resolves once the envelope sits in every current subscriber's queue (accepted). If
 *   any queue is full it waits, first come first served, so publish order is kept and memory stays
 *   bounded by `maxQueue` per subscriber (plus the publishes a caller starts without awaiting).
 * - Each subscriber gets envelopes in publish order, always asynchronously. A handler that returns
 *   a promise gets its next envelope only once that promise settles: that is how a slow consumer
 *   applies backpressure. The same envelope object goes to every subscriber: treat it as read-only.
 * - A handler that throws or rejects is reported to `onError` and keeps its subscription.
 * - `close()` rejects waiting and later publishes, and discards envelopes not yet delivered.
 */
export function createMemoryBus(opts: MemoryBusOptions = {}): Bus {
  const maxQueue = opts.maxQueue ?? DEFAULT_MEMORY_BUS_QUEUE;
  if (!Number.isInteger(maxQueue) || maxQueue < 1) {
    throw new RangeError(`maxQueue must be a positive integer, got ${maxQueue}`);
  }
  const onError =
    opts.onError ??
    ((err: unknown, envelope: Envelope) => {
      console.error(`bulwark: bus handler failed on envelope ${envelope.id}:`, err);
    });
  const subscribers = new Set<Subscriber>();
  const waiting = new Fifo<WaitingPublish>();
  let closed = false;

  const report = (err: unknown, envelope: Envelope): void => {
    try {
      onError(err, envelope);
    } catch {
      // An error reporter that throws must not stop delivery either.
    }
  };

  const hasRoom = (): boolean => {
    for (const sub of subscribers) if (sub.queue.size >= maxQueue) return false;
    return true;
  };

  const enqueue = (envelope: Envelope): void => {
    for (const sub of subscribers) {
      sub.queue.push(envelope);
      schedule(sub);
    }
  };

  /** Admits waiting publishes, oldest first, while every queue has room. */
  const admit = (): void => {
    while (waiting.size > 0 && hasRoom()) {
      const next = waiting.shift();
      if (next === undefined) break;
      enqueue(next.envelope);
      next.resolve();
    }
  };

  const schedule = (sub: Subscriber): void => {
    if (sub.draining || !sub.active) return;
    sub.draining = true;
    // setImmediate, not a microtask: handlers run outside publish's stack and after pending I/O.
    setImmediate(() => void drain(sub));
  };

  const drain = async (sub: Subscriber): Promise<void> => {
    let batch = 0;
    while (sub.active) {
      const envelope = sub.queue.shift();
      if (envelope === undefined) break;
      admit();
      try {
        const result = sub.handler(envelope) as unknown;
        if (isThenable(result)) {
          // Await settling (not the value) so a rejection is reported and the order kept.
          await Promise.resolve(result).then(undefined, (err: unknown) => report(err, envelope));
        }
      } catch (err) {
        report(err, envelope);
      }
      if (++batch >= DRAIN_BATCH) {
        batch = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    sub.draining = false;
    // Something may have arrived while the last handler's promise was pending.
    if (sub.active && sub.queue.size > 0) schedule(sub);
  };

  const closedError = (): BulwarkError => new BulwarkError('unavailable', 'the bus is closed');

  return {
    publish(envelope) {
      if (closed) return Promise.reject(closedError());
      if (waiting.size === 0 && hasRoom()) {
        enqueue(envelope);
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => waiting.push({ envelope, resolve, reject }));
    },

    async subscribe(handler) {
      if (closed) throw closedError();
      const sub: Subscriber = { handler, queue: new Fifo(), active: true, draining: false };
      subscribers.add(sub);
      const unsubscribe: Unsubscribe = async () => {
        if (!subscribers.delete(sub)) return;
        sub.active = false;
        sub.queue.clear();
        admit(); // the leaving subscriber may have been the full one
      };
      return unsubscribe;
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const sub of subscribers) {
        sub.active = false;
        sub.queue.clear();
      }
      subscribers.clear();
      for (const w of waiting.clear()) w.reject(closedError());
    },
  };
}
