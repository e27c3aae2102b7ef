/**
 * The names of a channel's clients (the console's channel rights show names, not bare ids;
 * decision 0038, amendment "the walk"): read in the caller's organization, in a bounded number of
 * store calls — never one HTTP request per row.
 */
import type { ChannelConnection } from '../ports/messaging.js';
import type { Storage } from '../ports/storage.js';

/**
 * Past this many devices on one channel, walking the organization's device list (500 a page) costs
 * fewer store calls than one read per device.
 */
const PER_DEVICE_READS = 200;
const PAGE = 500;

/** `type/id` → name of each client of `conns` that still exists in `orgId`. */
export async function connectionNames(
  storage: Storage,
  orgId: string,
  conns: readonly ChannelConnection[],
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const deviceIds = new Set(conns.filter((c) => c.clientType === 'device').map((c) => c.clientId));
  if (conns.some((c) => c.clientType === 'api_key'))
    for (const k of await storage.apiKeys.list(orgId)) names.set(`api_key/${k.id}`, k.name);
  if (deviceIds.size > 0 && deviceIds.size <= PER_DEVICE_READS) {
    for (const id of deviceIds) {
      const d = await storage.devices.get(orgId, id);
      if (d) names.set(`device/${id}`, d.name);
    }
  } else if (deviceIds.size > 0) {
    let cursor: string | null = null;
    do {
      const page = await storage.devices.list(orgId, {}, { limit: PAGE, cursor });
      for (const d of page.items) if (deviceIds.has(d.id)) names.set(`device/${d.id}`, d.name);
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  return names;
}
