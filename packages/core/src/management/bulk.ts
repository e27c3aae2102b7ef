import { BulwarkError, type BulkDeviceFilter as BulkFilter } from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import type { Device } from '../ports/records.js';

/** Devices a bulk operation reads per page of the registry. */
const BULK_PAGE = 500;
/** The most devices one bulk request may target; a larger selection is refused before any change. */
export const MAX_BULK_DEVICES = 10_000;

/**
 * Calls `fn` for every device of the organization matching a bulk filter (type, tags, location
 * subtree), in id order, one at a time; decommissioned devices are never targeted. The selection
 * is read in full first, so a filter matching more than MAX_BULK_DEVICES is refused with nothing
 * changed.
 */
export async function forEachMatchingDevice(
  devices: DeviceService,
  orgId: string,
  filter: BulkFilter,
  fn: (device: Device) => Promise<void>,
): Promise<void> {
  const matched = await matchingDevices(devices, orgId, filter);
  for (const device of matched) await fn(device);
}

async function matchingDevices(
  devices: DeviceService,
  orgId: string,
  filter: BulkFilter,
): Promise<Device[]> {
  const out: Device[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await devices.list(orgId, {
      ...(filter.type !== undefined ? { type: filter.type } : {}),
      ...(filter.tag !== undefined ? { tag: filter.tag } : {}),
      ...(filter.location !== undefined ? { location: filter.location } : {}),
      limit: BULK_PAGE,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    for (const device of page.items) if (device.state !== 'decommissioned') out.push(device);
    if (out.length > MAX_BULK_DEVICES)
      throw new BulwarkError(
        'validation_failed',
        `the filter matches more than ${MAX_BULK_DEVICES} devices; narrow it (by type, tag or location)`,
      );
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
}
