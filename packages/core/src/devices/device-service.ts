import {
  BulwarkError,
  type CreateDeviceRequest,
  type DeviceListQuery,
  type UpdateDeviceRequest,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { Device, DeviceFilter, DevicePatch, DeviceSortKey, Page } from '../ports/records.js';
import { decodeOffsetCursor, encodeOffsetCursor } from '../shared/cursor.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import type { LocationService } from './location-service.js';

/** The device registry. */
export class DeviceService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      locations: LocationService;
      /** Told about state changes (quarantine, decommission …): access changes cut live sessions. */
      events?: DomainEvents;
    },
  ) {}

  /** Registers a device in state `provisioned`. */
  async create(orgId: string, req: CreateDeviceRequest): Promise<Device> {
    if (req.locationId) await this.d.locations.get(orgId, req.locationId);
    const now = this.d.clock.now();
    const device: Device = {
      id: newId(now),
      orgId,
      name: req.name,
      type: req.type,
      firmwareType: req.firmwareType ?? null,
      firmwareVersion: req.firmwareVersion ?? null,
      tags: req.tags ?? [],
      mode: req.mode ?? 'controlled',
      state: 'provisioned',
      locationId: req.locationId ?? null,
      lastSeenAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.d.storage.devices.create(device);
    return device;
  }

  /** One device, or not_found (also for another organization's device). */
  async get(orgId: string, id: string): Promise<Device> {
    const device = await this.d.storage.devices.get(orgId, id);
    if (!device) throw new BulwarkError('not_found', 'no such device in this organization');
    return device;
  }

  /**
   * Filtered, paginated list; `location` includes everything below that node. With `sort` or
   * `offset` the list is sorted and read by position (`total` given, each device's `online`, the
   * cursor a position); otherwise it is in id order with an id cursor, as it always was.
   */
  async list(
    orgId: string,
    q: DeviceListQuery,
  ): Promise<Page<Device & { online?: boolean }> & { total?: number }> {
    const filter = await this.#filter(orgId, q);
    const limit = q.limit ?? 50;
    if (q.sort === undefined && q.offset === undefined) {
      return this.d.storage.devices.list(orgId, filter, { limit, cursor: q.cursor ?? null });
    }
    if (q.offset !== undefined && q.cursor !== undefined)
      throw new BulwarkError('validation_failed', 'give cursor or offset, not both', {
        extra: { field: 'offset' },
      });
    const sort = q.sort ?? 'name';
    const offset = q.cursor !== undefined ? decodeOffsetCursor(q.cursor) : (q.offset ?? 0);
    const w = await this.d.storage.devices.window(orgId, filter, {
      sort: sort.replace(/^-/, '') as DeviceSortKey,
      descending: sort.startsWith('-'),
      offset,
      limit,
    });
    const next = offset + w.items.length;
    return {
      items: w.items,
      nextCursor: w.items.length === limit && next < w.total ? encodeOffsetCursor(next) : null,
      total: w.total,
    };
  }

  async #filter(orgId: string, q: DeviceListQuery): Promise<DeviceFilter> {
    const filter: DeviceFilter = {};
    if (q.type !== undefined) filter.type = q.type;
    if (q.state !== undefined) filter.state = q.state;
    if (q.tag !== undefined) filter.tags = Array.isArray(q.tag) ? q.tag : [q.tag];
    if (q.q !== undefined) filter.nameContains = q.q;
    if (q.firmwareVersion !== undefined) filter.firmwareVersion = q.firmwareVersion;
    if (q.online !== undefined) filter.online = q.online;
    if (q.location !== undefined)
      filter.locationIds = await this.d.locations.subtree(orgId, q.location);
    return filter;
  }

  /** Changes a device; a decommissioned device no longer changes. */
  async update(orgId: string, id: string, req: UpdateDeviceRequest): Promise<Device> {
    const device = await this.get(orgId, id);
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    if (req.locationId) await this.d.locations.get(orgId, req.locationId);
    const patch: DevicePatch = { updatedAt: this.d.clock.now() };
    for (const k of [
      'name',
      'type',
      'firmwareType',
      'firmwareVersion',
      'tags',
      'mode',
      'state',
      'locationId',
    ] as const) {
      if (req[k] !== undefined) (patch as Record<string, unknown>)[k] = req[k];
    }
    return this.#apply(orgId, id, patch);
  }

  /** Sets the state (used by PKI on enrollment and decommissioning). */
  async setState(orgId: string, id: string, state: Device['state']): Promise<Device> {
    return this.#apply(orgId, id, { state, updatedAt: this.d.clock.now() });
  }

  async #apply(orgId: string, id: string, patch: DevicePatch): Promise<Device> {
    const before =
      patch.state === undefined ? undefined : await this.d.storage.devices.get(orgId, id);
    const updated = await this.d.storage.devices.update(orgId, id, patch);
    if (!updated) throw new BulwarkError('not_found', 'no such device in this organization');
    if (before && before.state !== updated.state) {
      this.d.events?.emit({
        type: 'device.state_changed',
        orgId,
        at: patch.updatedAt ?? this.d.clock.now(),
        deviceId: id,
        from: before.state,
        to: updated.state,
      });
    }
    return updated;
  }
}
