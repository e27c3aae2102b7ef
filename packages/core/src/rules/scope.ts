/**
 * A rule's group scope (type, tag, location subtree) against a device record (decision 0035):
 * shared by the hub's engine and the site view a gateway evaluates rules with (decision 0040).
 */
import type { RuleScope } from '@bulwark/protocol';
import type { Device, Location } from '../ports/records.js';

/** The location `rootId` and every location below it. */
export function locationSubtree(all: readonly Location[], rootId: string): Set<string> {
  const out = new Set<string>([rootId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const l of all)
      if (l.parentId !== null && out.has(l.parentId) && !out.has(l.id)) {
        out.add(l.id);
        grew = true;
      }
  }
  return out;
}

/** Does the scope name a type, tag or location (the device's record decides)? */
export const isGroupScope = (s: RuleScope): boolean =>
  s.type !== undefined || s.tag !== undefined || s.location !== undefined;

/** Does the device's type and tags match the scope (and has it a location when one is asked)? */
export function groupMatches(s: RuleScope, device: Device): boolean {
  if (s.type !== undefined && device.type !== s.type) return false;
  if (s.tag !== undefined && !device.tags.includes(s.tag)) return false;
  if (s.location !== undefined && device.locationId === null) return false;
  return true;
}

/**
 * Does the whole scope apart from the channel take the device? `subtree` is the scope's location
 * subtree (locationSubtree), needed only when the scope names a location.
 */
export function scopeTakesDevice(s: RuleScope, device: Device, subtree?: Set<string>): boolean {
  if (s.deviceId !== undefined && s.deviceId !== device.id) return false;
  if (!groupMatches(s, device)) return false;
  if (s.location === undefined) return true;
  return subtree !== undefined && device.locationId !== null && subtree.has(device.locationId);
}
