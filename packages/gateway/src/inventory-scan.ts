/**
 * Scans the site's LAN for Bulwark devices every `intervalMs` (mDNS, `discoverDevices` of the
 * agent, listening `listenMs` each round), folds each round into the site inventory and reports
 * what changed as the gateway's own device events, which reach the hub in order when the uplink
 * is up (the agent's outbox keeps them meanwhile).
 */
import { join } from 'node:path';
import type { DeviceEvent } from '@bulwark/protocol';
import type { Heard } from './inventory.js';
import { SiteInventory } from './inventory.js';

export interface InventoryOptions {
  intervalMs: number;
  listenMs: number;
  missedRounds: number;
  /** The IPv4 address of the LAN interface to scan on; default every interface. */
  interface?: string;
  /** The mDNS UDP port (5353; tests use another). */
  mdnsPort?: number;
}

export interface InventoryScanDeps {
  options: InventoryOptions;
  /** The gateway's state directory (inventory.json lives there). */
  dir: string;
  /** One mDNS round. */
  discover: (o: { timeoutMs: number; interface?: string; mdnsPort?: number }) => Promise<Heard[]>;
  /** Is this id one of the site's devices, per the last sync? */
  isSiteDevice: (id: string) => boolean;
  /** False until the site is known (before the first sync every device would look unknown). */
  ready: () => boolean;
  report: (e: DeviceEvent) => void;
  log: (level: 'warn' | 'debug', msg: string) => void;
  now?: () => Date;
}

export class InventoryScanner {
  readonly inventory: SiteInventory;
  rounds = 0;
  failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #file: string;

  constructor(private readonly d: InventoryScanDeps) {
    this.inventory = new SiteInventory(d.options.missedRounds);
    this.#file = join(d.dir, 'inventory.json');
  }

  async start(): Promise<void> {
    await this.inventory.load(this.#file);
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      // Before the first site sync every device would look unknown: wait for it, not a whole interval.
      if (!this.d.ready()) return this.#schedule(Math.min(1000, this.d.options.intervalMs));
      this.#running = this.scanOnce().then(
        () => undefined,
        () => undefined,
      );
      void this.#running.finally(() => {
        this.#running = undefined;
        this.#schedule(this.d.options.intervalMs);
      });
    }, ms);
    this.#timer.unref();
  }

  /** One round: listen, fold in, report, save. A failed round changes nothing and is counted. */
  async scanOnce(): Promise<DeviceEvent[]> {
    const o = this.d.options;
    if (!this.d.ready()) return [];
    let heard: Heard[];
    try {
      heard = await this.d.discover({
        timeoutMs: o.listenMs,
        ...(o.interface === undefined ? {} : { interface: o.interface }),
        ...(o.mdnsPort === undefined ? {} : { mdnsPort: o.mdnsPort }),
      });
    } catch (err) {
      this.failures++;
      this.d.log('warn', `site inventory scan failed: ${(err as Error).message}`);
      return [];
    }
    const events = this.inventory.round(
      heard,
      this.d.isSiteDevice,
      (this.d.now ?? (() => new Date()))(),
    );
    this.rounds++;
    for (const e of events) this.d.report(e);
    if (events.length > 0 || this.rounds === 1) {
      await this.inventory
        .save(this.#file)
        .catch((err: Error) =>
          this.d.log('warn', `cannot save the site inventory: ${err.message}`),
        );
    }
    return events;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
