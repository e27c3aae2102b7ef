/**
 * In-process signals of the management services: the hub's device plane listens to push a new
 * desired twin or a queued command to a device connected to this node at once (other nodes pick
 * the change up in their periodic sweep, DESIGN.md §3).
 */
import type { CommandRecord, DesiredTwinRecord } from '../ports/management.js';
import type { ActorType } from '../ports/records.js';

/** Who made a change, for the audit log. */
export interface Actor {
  type: ActorType;
  id: string | null;
  source?: string | null;
}

/** What the device plane hears about. */
export interface ManagementListener {
  desiredChanged?(desired: DesiredTwinRecord): void;
  commandQueued?(command: CommandRecord): void;
  commandCanceled?(command: CommandRecord): void;
}

/** A set of listeners; a throwing listener never breaks the caller. */
export class ManagementSignals {
  readonly #listeners = new Set<ManagementListener>();

  /** Adds a listener; returns the function that removes it. */
  listen(l: ManagementListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  emit<K extends keyof ManagementListener>(
    kind: K,
    arg: Parameters<NonNullable<ManagementListener[K]>>[0],
  ): void {
    for (const l of this.#listeners) {
      try {
        (l[kind] as ((a: typeof arg) => void) | undefined)?.(arg);
      } catch {
        // A listener's failure is its own: the change is stored and other nodes sweep for it.
      }
    }
  }
}
