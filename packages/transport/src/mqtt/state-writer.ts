/**
 * Ordered, batched write-through of the engine's MQTT state (decision 0020). Operations join the
 * current batch; one batch is stored at a time (one transaction), and the next starts as soon as
 * it is done, so an idle engine writes at once and a busy one fills its batches. A caller that
 * must not answer before its operations are stored (a PUBACK) waits on `since(mark)`.
 *
 * Entries may be lazy: they are turned into operations when their batch is taken, so the state
 * they carry (a packet id, a session's subscriptions) is the newest, and one that is no longer
 * needed (a message acknowledged before it was ever stored) yields nothing.
 */
import type { MqttStateOp, MqttStateStore } from '@bulwark/core';

/** An operation now, or one made when its batch is taken (null: nothing to store any more). */
export type StateEntry = MqttStateOp | (() => MqttStateOp | null);

interface Batch {
  entries: StateEntry[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may wait on a batch; its failure is reported through `onError` as well.
  done.catch(() => undefined);
  return { entries: [], done, resolve, reject };
}

/** What the writer tells its engine. */
export interface StateWriterEvents {
  /** Sessions whose writes were skipped: another node took them up. */
  notOwned(keys: string[]): void;
  /** A batch failed: nothing of it was stored. */
  failed(err: unknown, ops: number): void;
}

/** The engine's one writer to its MQTT state store. */
export class StateWriter {
  private batch: Batch = newBatch();
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private added = 0;

  constructor(
    private readonly store: MqttStateStore,
    private readonly node: string,
    private readonly events: StateWriterEvents,
  ) {}

  /** Add an entry to the current batch. */
  add(e: StateEntry): void {
    this.batch.entries.push(e);
    this.added++;
    if (!this.scheduled && this.flushing === null) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** A mark for `since`: how many entries were ever added. */
  mark(): number {
    return this.added;
  }

  /**
   * Resolves once everything added since `mark` is stored (rejects if its batch failed); null when
   * nothing was added since. Batches are stored in order, so earlier entries are stored too.
   */
  since(mark: number): Promise<void> | null {
    return this.added === mark ? null : this.batch.done;
  }

  /** Settles once everything added so far is stored or failed; null when nothing is pending. */
  pending(): Promise<void> | null {
    if (this.batch.entries.length > 0) return this.batch.done.catch(() => undefined);
    return this.flushing;
  }

  /** Turn the lazy entries of the current batch into operations now (state about to be torn down). */
  freeze(): void {
    const ops: StateEntry[] = [];
    for (const e of this.batch.entries) {
      const op = typeof e === 'function' ? e() : e;
      if (op !== null) ops.push(op);
    }
    this.batch.entries = ops;
  }

  /** Store everything added so far (at engine close). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.flushing !== null) await this.flushing;
      else if (this.batch.entries.length > 0) this.flush();
      else return;
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.flushing !== null) return;
    const b = this.batch;
    this.batch = newBatch();
    const ops: MqttStateOp[] = [];
    for (const e of b.entries) {
      const op = typeof e === 'function' ? e() : e;
      if (op !== null) ops.push(op);
    }
    if (ops.length === 0) {
      b.resolve();
      return;
    }
    this.flushing = this.store.apply(this.node, ops).then(
      (r) => {
        if (r.notOwned.length > 0) this.events.notOwned(r.notOwned);
        b.resolve();
        this.next();
      },
      (err: unknown) => {
        this.events.failed(err, ops.length);
        b.reject(err);
        this.next();
      },
    );
  }

  private next(): void {
    this.flushing = null;
    if (this.batch.entries.length > 0) this.flush();
  }
}
