/**
 * Watches the device's established TCP connections against the allowlist and reports each
 * destination outside it as a `connection_not_allowed` event, once per window per destination.
 */
import type { DeviceEvent } from '@bulwark/protocol';
import type { AgentClock, DeviceSystem, SocketInfo } from '../ports.js';
import { isAllowed, parseAllowlist, type AllowRule } from './allowlist.js';
import { isLoopback } from './ip.js';

/** Options of `ConnectionWatcher`. */
export interface ConnectionWatcherOptions {
  system: Pick<DeviceSystem, 'sockets'>;
  /** Allowlist entries (see allowlist.ts); validated here, a bad entry throws. Empty allows nothing. */
  allowlist: readonly string[];
  /** Where events go; the runtime forwards them to the hub's `events` topic. */
  report: (event: DeviceEvent) => void;
  clock?: AgentClock;
  /** How often `start()` checks. Default 30 s. */
  intervalMs?: number;
  /** A destination is reported at most once per window. Default 1 h. */
  windowMs?: number;
  /** Ignore connections to 127.0.0.0/8 and ::1 (local services). Default true. */
  ignoreLoopback?: boolean;
  /**
   * Also check inbound connections (those whose local port is one of the device's listening ports),
   * where the remote end is a client, not a destination. Default false.
   */
  checkInbound?: boolean;
  /** At most this many events per check; further destinations wait for the next check. Default 20. */
  maxEventsPerCheck?: number;
  /** A failed periodic check (e.g. /proc unreadable). Default: ignored. */
  onError?: (err: unknown) => void;
}

/**
 * Bounds the remembered destinations (each a few dozen bytes): a device connecting to more distinct
 * disallowed destinations than this within a window gets some of them reported again early.
 */
const MAX_REMEMBERED = 4096;

/** Periodically compares established connections with the allowlist. */
export class ConnectionWatcher {
  #rules: AllowRule[];
  readonly #opts: ConnectionWatcherOptions;
  readonly #clock: AgentClock;
  readonly #windowMs: number;
  /** Destination (`addr|port`) → when it was last reported; insertion order is report order. */
  readonly #reported = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<DeviceEvent[]> | undefined;

  constructor(opts: ConnectionWatcherOptions) {
    this.#rules = parseAllowlist(opts.allowlist);
    this.#opts = opts;
    this.#clock = opts.clock ?? { now: () => Date.now() };
    this.#windowMs = opts.windowMs ?? 3_600_000;
  }

  /** Replaces the allowlist (e.g. from the twin). A bad entry throws and keeps the old list. */
  setAllowlist(entries: readonly string[]): void {
    this.#rules = parseAllowlist(entries);
    // Destinations now allowed need no memory; newly disallowed ones are reported on the next check.
    this.#reported.clear();
  }

  /** Starts periodic checks (the first one immediately). */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = () => {
      this.check().catch((err: unknown) => this.#opts.onError?.(err));
    };
    this.#timer = setInterval(tick, this.#opts.intervalMs ?? 30_000);
    this.#timer.unref();
    tick();
  }

  /** Stops periodic checks; a check in progress finishes. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Checks once now; resolves to the events it reported. Concurrent calls share one check. */
  check(): Promise<DeviceEvent[]> {
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #check(): Promise<DeviceEvent[]> {
    const sockets = await this.#opts.system.sockets();
    const now = this.#clock.now();
    for (const [key, at] of this.#reported) {
      if (now - at < this.#windowMs) break; // oldest first: the rest are younger
      this.#reported.delete(key);
    }
    const listening = new Set(sockets.filter((s) => s.state === 'listen').map((s) => s.localPort));
    const events: DeviceEvent[] = [];
    const max = this.#opts.maxEventsPerCheck ?? 20;
    for (const s of sockets) {
      if (events.length >= max) break;
      if (!this.#isSuspect(s, listening)) continue;
      const key = `${s.remoteAddress}|${s.remotePort}`;
      if (this.#reported.has(key)) continue;
      if (this.#reported.size >= MAX_REMEMBERED) {
        const oldest = this.#reported.keys().next().value;
        if (oldest !== undefined) this.#reported.delete(oldest);
      }
      this.#reported.set(key, now);
      const event: DeviceEvent = {
        kind: 'connection_not_allowed',
        severity: 'warning',
        at: new Date(now).toISOString(),
        detail: {
          remoteAddress: s.remoteAddress,
          remotePort: s.remotePort,
          localPort: s.localPort,
        },
      };
      events.push(event);
      this.#opts.report(event);
    }
    return events;
  }

  #isSuspect(s: SocketInfo, listening: ReadonlySet<number>): boolean {
    if (s.state !== 'established') return false;
    if ((this.#opts.ignoreLoopback ?? true) && isLoopback(s.remoteAddress)) return false;
    if (!(this.#opts.checkInbound ?? false) && listening.has(s.localPort)) return false;
    return !isAllowed(this.#rules, s.remoteAddress, s.remotePort);
  }
}
