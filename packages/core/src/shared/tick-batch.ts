/**
 * Gathers the calls made within one turn of the event loop into one `flush` of all their items
 * (issue 12: ten thousand devices reconnecting at once made ten thousand single-row writes; a
 * batch is one statement per few hundred). Every caller's promise settles with its batch's flush.
 * At most `max` items go into one flush; the next call starts another batch.
 */
export function tickBatch<T>(
  flush: (items: T[]) => Promise<void>,
  max = 500,
): (item: T) => Promise<void> {
  type Batch = { items: T[]; done: Promise<void>; go: () => void };
  let current: Batch | null = null;
  // Closing twice (full, then its timer) is harmless: a promise resolves once.
  const close = (b: Batch) => {
    if (current === b) current = null;
    b.go();
  };
  const open = (): Batch => {
    let go!: () => void;
    const items: T[] = [];
    const started = new Promise<void>((r) => (go = r));
    const b: Batch = { items, done: started.then(() => flush(items)), go };
    setImmediate(() => close(b));
    return b;
  };
  return (item) => {
    const b = (current ??= open());
    b.items.push(item);
    if (b.items.length >= max) close(b);
    return b.done;
  };
}
