/**
 * In-process signals of the management services: the hub's device plane listens to push a new
 * desired twin or a queued command to a device connected to this node at once (other nodes pick
 * the change up in their periodic sweep, DESIGN.md §3).
 */
import type { CommandRecord, DesiredTwinRecord } from '../ports/management.js';
import type { ActorType } from '../ports/records.js';
import type { UpdateJobRecord } from '../ports/updates.js';
import type { InstalledFirmware } from '@bulwark/protocol';

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
  /** A new firmware update job (decision 0008): push its offer to the device. */
  updateJobQueued?(job: UpdateJobRecord): void;
  /** An update job's state or progress changed (after it is stored; terminal ones too). */
  updateJobChanged?(job: UpdateJobRecord): void;
  /** An update job was canceled by the hub: tell the device if it had the offer. */
  updateJobCanceled?(job: UpdateJobRecord): void;
  /** A cancel was asked for a job the device may hold: ask the device (decision 0015). */
  updateJobCancelRequested?(job: UpdateJobRecord): void;
  /** A device reported what firmware it runs (stored on the device record already). */
  firmwareReported?(report: { orgId: string; deviceId: string; firmware: InstalledFirmware }): void;
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
