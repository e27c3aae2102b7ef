import type { BulkDeviceFilter as BulkFilter } from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import type { Device } from '../ports/records.js';

/** Devices a bulk operation reads per page of the registry. */
const BULK_PAGE = 500;

/**
 * Calls `fn` for every device of the organization matching a bulk filter (type, tags, location
 * subtree), in id order, one at a time; decommissioned devices are never targeted.
 */
export async function forEachMatchingDevice(
  devices: DeviceService,
  orgId: string,
  filter: BulkFilter,
  fn: (device: Device) => Promise<void>,
): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    const page = await devices.list(orgId, {
      ...(filter.type !== undefined ? { type: filter.type } : {}),
      ...(filter.tag !== undefined ? { tag: filter.tag } : {}),
      ...(filter.location !== undefined ? { location: filter.location } : {}),
      limit: BULK_PAGE,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    for (const device of page.items) if (device.state !== 'decommissioned') await fn(device);
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}
