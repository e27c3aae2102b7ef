/**
 * Device groups of scoped grants (decision 0046), as pure rules over plain data: the hub decides
 * with them (core's DeviceAccess and grant policy), and a client — the console — uses the same
 * rules to tell which device actions to offer (the hub decides again).
 */

/** Where something sits, as scopes see it: a location and every ancestor of it, and its tags. */
export interface Place {
  /** The location first, then its parent, up to the root; empty when it has no location. */
  locations: readonly string[];
  tags: readonly string[];
}

/** A device group: a location subtree and/or a tag (null: any). */
export interface Scope {
  locationId: string | null;
  tag: string | null;
}

/** Whoever holds permissions: organization-wide ones and scoped grants. */
export interface ScopeHolder {
  permissions: readonly string[];
  scopedGrants?: readonly (Scope & { permissions: readonly string[] })[] | undefined;
}

/** Is `place` within `scope`? (Within the location's subtree, and carrying the tag.) */
export function scopeCovers(scope: Scope, place: Place): boolean {
  return (
    (scope.locationId === null || place.locations.includes(scope.locationId)) &&
    (scope.tag === null || place.tags.includes(scope.tag))
  );
}

/**
 * What `holder` may do at `place`: the organization-wide permissions plus those of every scoped
 * grant covering it.
 */
export function permissionsAt(holder: ScopeHolder, place: Place): string[] {
  const held = new Set<string>(holder.permissions);
  for (const g of holder.scopedGrants ?? [])
    if (scopeCovers(g, place)) for (const p of g.permissions) held.add(p);
  return [...held];
}

/** Most parent links followed up a location tree (its kinds are four deep; a bound on a cycle). */
export const MAX_LOCATION_DEPTH = 16;

/** A location id and its ancestors' ids, nearest first, from a loaded tree (the console's). */
export function locationChainIn(
  tree: readonly { id: string; parentId: string | null }[],
  locationId: string | null,
): string[] {
  const byId = new Map(tree.map((l) => [l.id, l]));
  const chain: string[] = [];
  let id = locationId;
  while (id !== null && chain.length < MAX_LOCATION_DEPTH && !chain.includes(id)) {
    const loc = byId.get(id);
    if (!loc) break;
    chain.push(loc.id);
    id = loc.parentId;
  }
  return chain;
}
