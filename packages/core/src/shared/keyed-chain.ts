/**
 * Runs async work one at a time per key, in the order it was asked for, within one process (a
 * node's part of a cluster-wide order that a lease gives). Keys leave the map when their queue
 * drains, so it holds only keys with work pending.
 */
export class KeyedChain {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after the work already queued under `key`; its result or error is the caller's. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }
}
