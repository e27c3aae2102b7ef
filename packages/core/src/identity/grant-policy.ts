/**
 * Who may give which permissions to whom (issue 11, decision 0013). Pure rules over the caller's
 * principal and the memberships involved; OrgService applies them to every create, update, remove
 * and password reset, and ApiKeyService applies the same subset rule to keys.
 *
 * 1. A grant — role preset plus extra grants, on create or update — never exceeds the granter's
 *    own permissions.
 * 2. Nobody changes, removes or resets a member who holds a permission the caller lacks, and only
 *    an owner (a user, never an API key) touches an owner.
 * 3. The owner role is never handed out by create or update: only an ownership transfer by a
 *    current owner makes one.
 *
 * Scoped grants (decision 0046) follow rules 1 and 2 on their scope: a grant on a device group
 * never exceeds what the granter holds there (org-wide, or by a scoped grant of their own whose
 * group contains it), and only a caller who could give it takes it back.
 */
import { BulwarkError, permissionsAt, type Place, type RoleName } from '@bulwark/protocol';
import type { Membership } from '../ports/records.js';
import { missingPermissions, permissionsFor } from './permissions.js';
import type { Principal } from './principal.js';

/** Throws `forbidden` unless `by` may give a member this role and these extra grants. */
export function checkGrant(by: Principal, role: RoleName, grants: readonly string[]): void {
  if (role === 'owner') {
    throw new BulwarkError(
      'forbidden',
      'the owner role is only given by an ownership transfer from a current owner',
    );
  }
  const missing = missingPermissions(by.permissions, permissionsFor(role, grants));
  if (missing.length > 0) {
    throw new BulwarkError(
      'forbidden',
      `a grant cannot exceed the granter's own permissions; missing: ${missing.join(', ')}`,
      { extra: { missing } },
    );
  }
}

/** Throws `forbidden` unless `by` may change, remove or reset the member holding `target`. */
export function checkManage(by: Principal, target: Membership): void {
  if (target.role === 'owner' && !(by.kind === 'user' && by.role === 'owner')) {
    throw new BulwarkError('forbidden', 'only an owner may change or remove an owner');
  }
  const missing = missingPermissions(by.permissions, permissionsFor(target.role, target.grants));
  if (missing.length > 0) {
    throw new BulwarkError(
      'forbidden',
      `the member holds permissions the caller lacks: ${missing.join(', ')}`,
      { extra: { missing } },
    );
  }
}

/**
 * Throws `forbidden` unless `by` holds `permissions` on every device of the group whose place is
 * `place` — the scope of a scoped grant being given or taken back.
 */
export function checkScopedGrant(
  by: Principal,
  place: Place,
  permissions: readonly string[],
): void {
  const missing = missingPermissions(permissionsAt(by, place), permissions);
  if (missing.length > 0) {
    throw new BulwarkError(
      'forbidden',
      `a scoped grant cannot exceed the granter's own permissions on that device group; missing: ${missing.join(', ')}`,
      { extra: { missing } },
    );
  }
}
