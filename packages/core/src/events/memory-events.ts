import type { DomainEvent, DomainEvents, StopListening } from '../ports/events.js';

/** Options of the in-process events port. */
export interface MemoryEventsOptions {
  /** This node's id, stamped on every event as `origin`. */
  nodeId?: string;
  /** Told about a listener that threw (default: ignored; the hub logs it). */
  onError?: (err: unknown, event: DomainEvent) => void;
}

/**
 * The in-process events port: listeners run on a microtask after `emit`, in emit order, each
 * isolated from the others' failures — so an emitting service never runs listener code in the
 * middle of its own work and never fails because of it.
 */
export function createMemoryEvents(opts: MemoryEventsOptions = {}): DomainEvents & {
  /** Delivers an event that came from another node to this node's listeners (cluster adapters). */
  deliver(event: DomainEvent): void;
} {
  const listeners = new Set<(e: DomainEvent) => void>();
  let pending: Promise<void> = Promise.resolve();
  let closed = false;
  const deliver = (event: DomainEvent) => {
    if (closed) return;
    pending = pending.then(() => {
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch (err) {
          opts.onError?.(err, event);
        }
      }
    });
  };
  return {
    emit(event) {
      deliver(opts.nodeId === undefined ? event : { ...event, origin: opts.nodeId });
    },
    deliver,
    listen(listener): StopListening {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    flush: () => pending,
    async close() {
      closed = true;
      await pending;
      listeners.clear();
    },
  };
}
