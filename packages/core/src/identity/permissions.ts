import { ROLE_PRESETS, type Permission, type RoleName } from '@bulwark/protocol';

/** What each preset role may do (the protocol's ROLE_PRESETS). A membership's `grants` add to its role's preset. */
export const ROLE_PERMISSIONS: Readonly<Record<RoleName, readonly Permission[]>> = ROLE_PRESETS;

/** The permissions of a role plus extra grants, without duplicates. */
export function permissionsFor(role: RoleName, grants: readonly string[] = []): Permission[] {
  return [...new Set<Permission>([...ROLE_PERMISSIONS[role], ...(grants as Permission[])])];
}

/** Does `held` include `needed`? */
export function hasPermission(held: readonly string[], needed: Permission): boolean {
  return held.includes(needed);
}

/**
 * Does a holder of `held` hold `wanted` for the purpose of passing it on? Exactly, except that
 * `org:manage` (the owner's permission) covers every `port:<name>`: port names are open-ended, so
 * no preset lists them, and without this nobody could ever grant one (decision 0013).
 */
export function covers(held: readonly string[], wanted: string): boolean {
  return held.includes(wanted) || (wanted.startsWith('port:') && held.includes('org:manage'));
}

/** The permissions of `wanted` that `held` does not cover (empty: `wanted` is within `held`). */
export function missingPermissions(held: readonly string[], wanted: readonly string[]): string[] {
  return [...new Set(wanted)].filter((p) => !covers(held, p));
}
