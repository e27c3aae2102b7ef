import type { DeviceEvent, DeviceEventListQuery, DeviceMetrics, Presence } from '@bulwark/protocol';
import type { AlertService } from '../alerts/alert-service.js';
import type { DeviceService } from '../devices/device-service.js';
import type { Clock } from '../ports/clock.js';
import type { AlertRecord } from '../ports/alerts.js';
import type { DeviceEventRecord, PresenceRecord } from '../ports/management.js';
import type { OperatingMode, Page } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { DomainEvents } from '../ports/events.js';
import { newId } from '../shared/ids.js';
import { tickBatch } from '../shared/tick-batch.js';

/** Presence as the API shows it. */
export interface DevicePresence {
  deviceId: string;
  online: boolean;
  /** The mode the device last reported, else the one in its registry record. */
  mode: OperatingMode;
  since: number | null;
  lastSeenAt: number | null;
  metrics: DeviceMetrics | null;
}

/** Settings of PresenceService. */
export interface PresenceConfig {
  /** Events kept per device (older ones are pruned as new ones arrive). */
  eventsPerDevice: number;
}

export const DEFAULT_PRESENCE_CONFIG: PresenceConfig = { eventsPerDevice: 1000 };

/**
 * Presence, health and events of devices (DESIGN.md §3). A device is online from its MQTT
 * connection until it leaves; leaving without a clean DISCONNECT (its will fired, or the link was
 * lost) while in controlled mode opens a `device_offline` alert, resolved when it returns. Each
 * state belongs to one connection (`sessionId`), so the late end of an old connection never marks a
 * reconnected device offline.
 */
export class PresenceService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      devices: DeviceService;
      /** The one owner of alerts: `device_offline` opens and resolves there. */
      alerts: AlertService;
      config?: PresenceConfig;
      /** Told of each stored batch of device events (the console's live device page). */
      events?: DomainEvents;
    },
  ) {}

  /** A device's presence and latest metrics. */
  async get(orgId: string, deviceId: string): Promise<DevicePresence> {
    const device = await this.d.devices.get(orgId, deviceId);
    const p = await this.d.storage.presence.get(orgId, deviceId);
    return {
      deviceId,
      online: p?.online ?? false,
      mode: p?.mode ?? device.mode,
      since: p?.since ?? null,
      lastSeenAt: p?.lastSeenAt ?? device.lastSeenAt,
      metrics: p?.metrics ?? null,
    };
  }

  /**
   * Presence and last-seen writes of the connects made in one turn of the event loop, as one
   * batch (a reconnect storm writes a statement per few hundred devices, not one per device).
   */
  readonly #online = tickBatch<{ orgId: string; deviceId: string; sessionId: string }>((entries) =>
    this.d.storage.presence.markOnline(entries, this.d.clock.now()),
  );

  /**
   * A device connected (session `sessionId`): online now (since its first connect while
   * offline), last seen now; its offline alert, if any, resolves.
   */
  async connected(orgId: string, deviceId: string, sessionId: string): Promise<void> {
    await this.#online({ orgId, deviceId, sessionId });
    await this.d.alerts.resolve(orgId, deviceId, 'device_offline');
  }

  /**
   * A device's connection `sessionId` ended. `clean`: it said goodbye (DISCONNECT, or presence
   * online:false); else its will fired or the link was lost, which for a controlled device opens
   * an alert. Returns the alert opened, if any.
   */
  async disconnected(
    orgId: string,
    deviceId: string,
    sessionId: string,
    opts: { clean: boolean; reason: string },
  ): Promise<AlertRecord | undefined> {
    const now = this.d.clock.now();
    const p = await this.d.storage.presence.setOffline(orgId, deviceId, sessionId, now);
    if (!p || opts.clean) return undefined;
    const device = await this.d.storage.devices.get(orgId, deviceId);
    if (!device) return undefined;
    const mode = p.mode ?? device.mode;
    if (mode !== 'controlled') return undefined;
    return this.d.alerts.open(orgId, deviceId, 'device_offline', {
      reason: opts.reason,
      mode,
      name: device.name,
    });
  }

  /**
   * The device's own presence message. `online: true` records its mode; `online: false` published
   * by a live connection is a clean goodbye; from a will (`viaWill`), an unclean loss.
   */
  async report(
    orgId: string,
    deviceId: string,
    sessionId: string,
    presence: Presence,
    viaWill: boolean,
  ): Promise<void> {
    if (!presence.online) {
      await this.disconnected(orgId, deviceId, sessionId, {
        clean: !viaWill,
        reason: viaWill ? 'will' : 'device said offline',
      });
      return;
    }
    if (viaWill) return; // a will saying "online" is nonsense: nothing to learn from it
    const now = this.d.clock.now();
    const patch = { lastSeenAt: now, ...(presence.mode ? { mode: presence.mode } : {}) };
    if (!(await this.d.storage.presence.touch(orgId, deviceId, patch))) {
      await this.connected(orgId, deviceId, sessionId);
      await this.d.storage.presence.touch(orgId, deviceId, patch);
    }
  }

  /** A hub node vouches for the devices connected to it (their connections' ids). */
  heartbeat(orgId: string, sessionIds: readonly string[]): Promise<number> {
    return this.d.storage.presence.refresh(orgId, sessionIds, this.d.clock.now());
  }

  /**
   * Marks offline (unclean: a controlled device gets an alert) every device still shown online
   * whose node has not vouched for it for `maxAgeMs`: its hub node stopped without saying so.
   * Returns how many.
   */
  async reapStale(maxAgeMs: number, limit = 500): Promise<number> {
    const stale = await this.d.storage.presence.listStale(this.d.clock.now() - maxAgeMs, limit);
    for (const p of stale) {
      if (p.sessionId === null) continue;
      await this.disconnected(p.orgId, p.deviceId, p.sessionId, {
        clean: false,
        reason: 'no hub node has vouched for its connection',
      });
    }
    return stale.length;
  }

  /** Keeps the latest metrics snapshot. */
  async metrics(
    orgId: string,
    deviceId: string,
    sessionId: string,
    m: DeviceMetrics,
  ): Promise<void> {
    const now = this.d.clock.now();
    if (!(await this.d.storage.presence.touch(orgId, deviceId, { lastSeenAt: now, metrics: m }))) {
      await this.connected(orgId, deviceId, sessionId);
      await this.d.storage.presence.touch(orgId, deviceId, { lastSeenAt: now, metrics: m });
    }
  }

  /** Stores events a device reported, keeping the newest `eventsPerDevice`. */
  async events(orgId: string, deviceId: string, events: readonly DeviceEvent[]): Promise<number> {
    const now = this.d.clock.now();
    const rows: DeviceEventRecord[] = events.map((e) => ({
      id: newId(now),
      orgId,
      deviceId,
      kind: e.kind,
      severity: e.severity,
      at: Date.parse(e.at),
      receivedAt: now,
      detail: e.detail,
    }));
    await this.d.storage.deviceEvents.append(rows);
    const keep = (this.d.config ?? DEFAULT_PRESENCE_CONFIG).eventsPerDevice;
    await this.d.storage.deviceEvents.prune(orgId, deviceId, keep);
    if (rows.length > 0)
      this.d.events?.emit({
        type: 'device.events_reported',
        orgId,
        deviceId,
        count: rows.length,
        at: now,
      });
    return rows.length;
  }

  /** A device's events, newest first. */
  async listEvents(
    orgId: string,
    deviceId: string,
    q: DeviceEventListQuery,
  ): Promise<Page<DeviceEventRecord>> {
    await this.d.devices.get(orgId, deviceId);
    return this.d.storage.deviceEvents.list(
      orgId,
      deviceId,
      {
        ...(q.kind !== undefined ? { kind: q.kind } : {}),
        ...(q.severity !== undefined ? { severity: q.severity } : {}),
      },
      { limit: q.limit ?? 50, cursor: q.cursor ?? null },
    );
  }

  /** The raw record (tests, the device plane). */
  record(orgId: string, deviceId: string): Promise<PresenceRecord | undefined> {
    return this.d.storage.presence.get(orgId, deviceId);
  }
}
