/**
 * Scoped grants (decision 0046): permissions held on a device group — a location subtree and/or a
 * tag — rather than on the whole organization. One rule decides both whether a grant covers a
 * device and whether it covers another scope (for the grant policy): a scope is matched against a
 * **place** (a location with its ancestors, and tags), and a scope's own place is the place every
 * device it matches shares. The pure rules (`scopeCovers`, `permissionsAt`) are in the protocol
 * package, so the console offers actions by the same rule; this file reads the places from storage.
 */
import {
  BulwarkError,
  MAX_LOCATION_DEPTH,
  scopeCovers,
  type Permission,
  type Place,
  type Scope,
} from '@bulwark/protocol';
import type { Device } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { covers } from './permissions.js';
import type { Principal } from './principal.js';

/** The part of a principal that scopes look at. */
export type Holder = Pick<Principal, 'orgId' | 'permissions' | 'scopedGrants'>;

/** A location id and its ancestors' ids, nearest first (empty for null or an unknown id). */
export async function locationChain(
  storage: Pick<Storage, 'locations'>,
  orgId: string,
  locationId: string | null,
): Promise<string[]> {
  const chain: string[] = [];
  let id = locationId;
  while (id !== null && chain.length < MAX_LOCATION_DEPTH && !chain.includes(id)) {
    const loc = await storage.locations.get(orgId, id);
    if (!loc) break;
    chain.push(loc.id);
    id = loc.parentId;
  }
  return chain;
}

/** The place a scope stands for: what every device it matches has in common. */
export async function placeOfScope(
  storage: Pick<Storage, 'locations'>,
  orgId: string,
  scope: Scope,
): Promise<Place> {
  return {
    locations: await locationChain(storage, orgId, scope.locationId),
    tags: scope.tag === null ? [] : [scope.tag],
  };
}

/**
 * Decides whether a principal may act on one device with a permission: organization-wide, or
 * through a scoped grant covering the device where it is **now** (its location and tags are read
 * at each check, so moving a device out of a group ends the right at the next request).
 */
export class DeviceAccess {
  constructor(private readonly d: { storage: Pick<Storage, 'devices' | 'locations'> }) {}

  /** May `holder` act on the device with `needed`? A device outside the organization: no. */
  async permits(holder: Holder, deviceId: string, needed: Permission): Promise<boolean> {
    if (covers(holder.permissions, needed)) return true;
    const grants = (holder.scopedGrants ?? []).filter((g) => covers(g.permissions, needed));
    if (grants.length === 0) return false;
    const device = await this.d.storage.devices.get(holder.orgId, deviceId);
    if (!device) return false;
    const place = await this.placeOf(device);
    return grants.some((g) => scopeCovers(g, place));
  }

  /** Throws `forbidden` unless `permits`. */
  async require(holder: Holder, deviceId: string, needed: Permission): Promise<void> {
    if (!(await this.permits(holder, deviceId, needed))) {
      throw new BulwarkError(
        'forbidden',
        `this action needs the '${needed}' permission on this device (organization-wide or by a scoped grant covering it)`,
        { extra: { permission: needed } },
      );
    }
  }

  /** Where a device is now. */
  async placeOf(device: Device): Promise<Place> {
    return {
      locations: await locationChain(this.d.storage, device.orgId, device.locationId),
      tags: device.tags,
    };
  }
}
