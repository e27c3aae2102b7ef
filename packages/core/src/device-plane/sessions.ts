/**
 * The device sessions one hub node holds, and what each has been sent: a device has at most one
 * session here (a newer connection replaces it). Delivery state is per session, so a device that
 * reconnects is sent again what it may have missed.
 */
import type { DevicePlaneKind } from '@bulwark/protocol';
import type { DeviceSession } from './link.js';

/** One device session and what it subscribed to and was sent. */
export interface HeldSession {
  readonly session: DeviceSession;
  /** The hub → device messages its subscriptions cover. */
  readonly takes: Set<DevicePlaneKind>;
  /** The desired version last sent on this session (0 = none). */
  sentDesired: number;
  /** Commands sent on this session (sent again on the next one until the device answers). */
  readonly sentCommands: Set<string>;
  /** Update jobs offered on this session. */
  readonly offered: Set<string>;
  /** Update jobs whose cancel request was sent on this session. */
  readonly cancelAsked: Set<string>;
}

/** The sessions of one node, by device id. */
export class DeviceSessions {
  readonly #byDevice = new Map<string, HeldSession>();

  /** A new session of a device (replacing an older one of the same device). */
  open(session: DeviceSession): HeldSession {
    const held: HeldSession = {
      session,
      takes: new Set(),
      sentDesired: 0,
      sentCommands: new Set(),
      offered: new Set(),
      cancelAsked: new Set(),
    };
    this.#byDevice.set(session.deviceId, held);
    return held;
  }

  /** Ends a session — only if it is still the device's current one. */
  close(session: DeviceSession): void {
    if (this.#byDevice.get(session.deviceId)?.session.sessionId === session.sessionId)
      this.#byDevice.delete(session.deviceId);
  }

  /** The session of this very connection, if it is still the device's current one. */
  of(session: DeviceSession): HeldSession | undefined {
    const h = this.#byDevice.get(session.deviceId);
    return h?.session.sessionId === session.sessionId ? h : undefined;
  }

  /** The device's current session here, if it is in that organization. */
  find(orgId: string, deviceId: string): HeldSession | undefined {
    const h = this.#byDevice.get(deviceId);
    return h?.session.orgId === orgId ? h : undefined;
  }

  /** Is `h` still the current session of its device? (A reconnect replaces it.) */
  current(h: HeldSession): boolean {
    return this.#byDevice.get(h.session.deviceId) === h;
  }

  /** The sessions here taking any of `kinds`, grouped by organization. */
  byOrg(kinds: readonly DevicePlaneKind[]): Map<string, HeldSession[]> {
    const out = new Map<string, HeldSession[]>();
    for (const h of this.#byDevice.values()) {
      if (!kinds.some((k) => h.takes.has(k))) continue;
      const list = out.get(h.session.orgId);
      if (list) list.push(h);
      else out.set(h.session.orgId, [h]);
    }
    return out;
  }

  /** Every session here, grouped by organization (the heartbeat vouches for them all). */
  all(): Map<string, HeldSession[]> {
    const out = new Map<string, HeldSession[]>();
    for (const h of this.#byDevice.values()) {
      const list = out.get(h.session.orgId);
      if (list) list.push(h);
      else out.set(h.session.orgId, [h]);
    }
    return out;
  }
}
