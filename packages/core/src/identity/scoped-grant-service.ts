import { BulwarkError, MAX_SCOPED_GRANTS, type CreateScopedGrantRequest } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Membership, ScopedGrant } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { placeOfScope } from './device-scope.js';
import { checkManage, checkScopedGrant } from './grant-policy.js';
import type { Principal } from './principal.js';

/**
 * Rule 2 of the grant policy over a member's scoped grants: the caller must hold, on each one's
 * group, everything it gives — else a scoped holder could be changed or removed by someone who
 * could never have granted what they hold.
 */
export async function checkManageScoped(
  storage: Pick<Storage, 'locations'>,
  by: Principal,
  target: Membership,
): Promise<void> {
  for (const g of target.scopedGrants ?? [])
    checkScopedGrant(by, await placeOfScope(storage, target.orgId, g), g.permissions);
}

/**
 * A member's scoped grants (decision 0046): extra permissions on a device group, given and taken
 * back under the grant policy on that group. The member is a user; API keys hold org-wide
 * permissions only.
 */
export class ScopedGrantService {
  constructor(private readonly d: { storage: Storage; clock: Clock }) {}

  /** Gives `userId` a scoped grant; returns the membership as it now is. */
  async add(
    orgId: string,
    by: Principal,
    userId: string,
    req: CreateScopedGrantRequest,
  ): Promise<{ membership: Membership; grant: ScopedGrant }> {
    const membership = await this.#manageable(orgId, by, userId);
    const scope = { locationId: req.locationId ?? null, tag: req.tag ?? null };
    if (scope.locationId === null && scope.tag === null) {
      throw new BulwarkError(
        'validation_failed',
        'a scoped grant names a locationId, a tag or both (for the whole organization, use grants)',
      );
    }
    // Another organization's location (or none) is refused before anything is weighed.
    if (scope.locationId !== null && !(await this.d.storage.locations.get(orgId, scope.locationId)))
      throw new BulwarkError('validation_failed', 'no such location in this organization', {
        extra: { field: 'locationId' },
      });
    const held = membership.scopedGrants ?? [];
    if (held.length >= MAX_SCOPED_GRANTS) {
      throw new BulwarkError(
        'conflict',
        `a member holds at most ${MAX_SCOPED_GRANTS} scoped grants; remove one first`,
      );
    }
    const permissions = [...new Set(req.permissions)];
    checkScopedGrant(by, await placeOfScope(this.d.storage, orgId, scope), permissions);
    const now = this.d.clock.now();
    const grant: ScopedGrant = {
      id: newId(now),
      permissions,
      ...scope,
      grantedBy: by.id,
      createdAt: now,
    };
    const next: Membership = { ...membership, scopedGrants: [...held, grant] };
    await this.d.storage.memberships.put(next);
    return { membership: next, grant };
  }

  /** Takes back one scoped grant, one the caller could have given. */
  async remove(orgId: string, by: Principal, userId: string, grantId: string): Promise<Membership> {
    const membership = await this.#manageable(orgId, by, userId);
    const held = membership.scopedGrants ?? [];
    const grant = held.find((g) => g.id === grantId);
    if (!grant) throw new BulwarkError('not_found', 'no such scoped grant for this member');
    checkScopedGrant(by, await placeOfScope(this.d.storage, orgId, grant), grant.permissions);
    const next: Membership = { ...membership, scopedGrants: held.filter((g) => g !== grant) };
    await this.d.storage.memberships.put(next);
    return next;
  }

  /** The member, if the caller may manage them and is not them (nobody widens their own scope). */
  async #manageable(orgId: string, by: Principal, userId: string): Promise<Membership> {
    if (by.kind === 'user' && by.id === userId)
      throw new BulwarkError('forbidden', 'a member cannot change their own scoped grants');
    const membership = await this.d.storage.memberships.get(orgId, userId);
    if (!membership) throw new BulwarkError('not_found', 'no such member in this organization');
    checkManage(by, membership);
    await checkManageScoped(this.d.storage, by, membership);
    if (membership.role === 'owner')
      throw new BulwarkError('conflict', 'an owner holds every permission everywhere already');
    return membership;
  }
}
