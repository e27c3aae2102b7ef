import { PERMISSIONS, type Permission, type RoleName } from '@bulwark/protocol';

/** What each preset role may do. A membership's `grants` add to its role's preset. */
export const ROLE_PERMISSIONS: Readonly<Record<RoleName, readonly Permission[]>> = {
  owner: PERMISSIONS,
  admin: PERMISSIONS.filter((p) => p !== 'org:manage'),
  operator: [
    'devices:read',
    'devices:manage',
    'firmware:update',
    'application:update',
    'network:configure',
  ],
  viewer: ['devices:read'],
};

/** The permissions of a role plus extra grants, without duplicates. */
export function permissionsFor(role: RoleName, grants: readonly string[] = []): Permission[] {
  return [...new Set<Permission>([...ROLE_PERMISSIONS[role], ...(grants as Permission[])])];
}

/** Does `held` include `needed`? */
export function hasPermission(held: readonly string[], needed: Permission): boolean {
  return held.includes(needed);
}
