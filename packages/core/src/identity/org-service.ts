import { BulwarkError, type CreateUserRequest, type UpdateUserRequest } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Membership, Organization, User } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import type { AuthService } from './auth-service.js';
import { checkGrant, checkManage } from './grant-policy.js';
import type { Principal } from './principal.js';
import { checkManageScoped } from './scoped-grant-service.js';

/** A member as the API shows it. */
export interface Member {
  user: User;
  membership: Membership;
}

/** Dependencies of the organization service. */
export interface OrgDeps {
  storage: Storage;
  clock: Clock;
  auth: AuthService;
  /** Organizations one user may create or belong to (IdentityConfig.maxOrgsPerUser). */
  maxOrgsPerUser: number;
}

/**
 * Organizations (tenants) and their members. Every change of a member goes through the grant
 * policy (grant-policy.ts): nobody grants more than they hold, nobody touches a member who holds
 * more than they do, and the owner role changes hands only by `transferOwnership`.
 */
export class OrgService {
  constructor(private readonly d: OrgDeps) {}

  /** The organizations a principal belongs to (an API key: just its own). */
  async listFor(p: Principal): Promise<Organization[]> {
    if (p.kind !== 'user') return this.d.storage.organizations.listByIds([p.orgId]);
    const ms = await this.d.storage.memberships.listByUser(p.id);
    return this.d.storage.organizations.listByIds(ms.map((m) => m.orgId));
  }

  /** One organization, or not_found. */
  async get(orgId: string): Promise<Organization> {
    const org = await this.d.storage.organizations.get(orgId);
    if (!org) throw new BulwarkError('not_found', 'no such organization');
    return org;
  }

  /**
   * A new organization whose owner is the calling user, unless the user already belongs to as
   * many organizations as allowed (`organization_limit`).
   */
  async create(userId: string, name: string): Promise<Organization> {
    const held = (await this.d.storage.memberships.listByUser(userId)).length;
    if (held >= this.d.maxOrgsPerUser) {
      throw new BulwarkError(
        'organization_limit',
        `a user may belong to at most ${this.d.maxOrgsPerUser} organizations`,
        { extra: { limit: this.d.maxOrgsPerUser } },
      );
    }
    const now = this.d.clock.now();
    const org: Organization = { id: newId(now), name, createdAt: now };
    await this.d.storage.organizations.create(org);
    await this.d.storage.memberships.put({
      orgId: org.id,
      userId,
      role: 'owner',
      grants: [],
      createdAt: now,
    });
    return org;
  }

  /** One user by id, or not_found. */
  async user(userId: string): Promise<User> {
    const user = await this.d.storage.users.get(userId);
    if (!user) throw new BulwarkError('not_found', 'no such user');
    return user;
  }

  /** Members of the organization. */
  async listMembers(orgId: string): Promise<Member[]> {
    const ms = await this.d.storage.memberships.listByOrg(orgId);
    const out: Member[] = [];
    for (const membership of ms) {
      const user = await this.d.storage.users.get(membership.userId);
      if (user) out.push({ user, membership });
    }
    return out;
  }

  /** Creates a user as a member with a role and grants no wider than the caller's own. */
  async addMember(orgId: string, by: Principal, req: CreateUserRequest): Promise<Member> {
    checkGrant(by, req.role, req.grants ?? []);
    const user = await this.d.auth.newUser(req.email, req.name, req.password);
    const membership: Membership = {
      orgId,
      userId: user.id,
      role: req.role,
      grants: [...new Set(req.grants ?? [])],
      createdAt: user.createdAt,
    };
    await this.d.storage.users.create(user);
    await this.d.storage.memberships.put(membership);
    return { user, membership };
  }

  /**
   * Changes a member's role or grants: the caller must hold everything the member holds now and
   * everything the member would hold after; the last owner cannot be demoted.
   */
  async updateMember(
    orgId: string,
    by: Principal,
    userId: string,
    req: UpdateUserRequest,
  ): Promise<Member> {
    const { user, membership } = await this.#member(orgId, userId);
    checkManage(by, membership);
    await checkManageScoped(this.d.storage, by, membership);
    const next: Membership = {
      ...membership,
      role: req.role ?? membership.role,
      grants: req.grants ? [...new Set(req.grants)] : membership.grants,
    };
    // An owner keeping the role only has grants changed, which add nothing to an owner.
    if (!(membership.role === 'owner' && next.role === 'owner'))
      checkGrant(by, next.role, next.grants);
    if (membership.role === 'owner' && next.role !== 'owner') await this.#keepOwner(orgId);
    await this.d.storage.memberships.put(next);
    return { user, membership: next };
  }

  /** Removes a member the caller may manage and revokes their sessions; never the last owner. */
  async removeMember(orgId: string, by: Principal, userId: string): Promise<void> {
    const { membership } = await this.#member(orgId, userId);
    checkManage(by, membership);
    await checkManageScoped(this.d.storage, by, membership);
    if (membership.role === 'owner') await this.#keepOwner(orgId);
    await this.d.storage.memberships.remove(orgId, userId);
    await this.d.storage.sessions.revokeAllForUser(userId, this.d.clock.now());
  }

  /**
   * An admin's password reset for a member they may manage: ends every session of the member. A
   * member of another organization as well is refused — their password opens that organization
   * too, where this caller has no say. Callers change their own password with the current one.
   */
  async resetPassword(
    orgId: string,
    by: Principal,
    userId: string,
    password: string,
  ): Promise<{ revokedSessions: number }> {
    if (by.kind === 'user' && by.id === userId) {
      throw new BulwarkError(
        'forbidden',
        'change your own password with the current one (POST /me/password)',
      );
    }
    const { membership } = await this.#member(orgId, userId);
    checkManage(by, membership);
    await checkManageScoped(this.d.storage, by, membership);
    const elsewhere = (await this.d.storage.memberships.listByUser(userId)).some(
      (m) => m.orgId !== orgId,
    );
    if (elsewhere) {
      throw new BulwarkError(
        'forbidden',
        'the user belongs to other organizations too; only they (or a local operator) can reset it',
      );
    }
    return this.d.auth.resetPassword(userId, password);
  }

  /**
   * Hands the owner role to another member. Only an owner (a user) may; the new owner holds every
   * permission, and the previous owner stays a member as an admin (decision 0013), so ownership is
   * given, never taken, and an organization has as many owners after as before.
   */
  async transferOwnership(
    orgId: string,
    by: Principal,
    toUserId: string,
  ): Promise<{ owner: Member; previousOwner: Member }> {
    if (by.kind !== 'user' || by.role !== 'owner')
      throw new BulwarkError('forbidden', 'only an owner may transfer ownership');
    if (by.id === toUserId)
      throw new BulwarkError('conflict', 'the caller already owns the organization');
    const to = await this.#member(orgId, toUserId);
    const from = await this.#member(orgId, by.id);
    const owner: Membership = { ...to.membership, role: 'owner', grants: [], scopedGrants: [] };
    const previous: Membership = {
      ...from.membership,
      role: 'admin',
      grants: [],
      scopedGrants: [],
    };
    // Promote first: if the demotion fails, the organization has two owners, never none.
    await this.d.storage.memberships.put(owner);
    await this.d.storage.memberships.put(previous);
    return {
      owner: { user: to.user, membership: owner },
      previousOwner: { user: from.user, membership: previous },
    };
  }

  async #keepOwner(orgId: string): Promise<void> {
    const owners = (await this.d.storage.memberships.listByOrg(orgId)).filter(
      (m) => m.role === 'owner',
    );
    if (owners.length <= 1) throw new BulwarkError('last_owner');
  }

  async #member(orgId: string, userId: string): Promise<Member> {
    const membership = await this.d.storage.memberships.get(orgId, userId);
    const user = membership ? await this.d.storage.users.get(userId) : undefined;
    if (!membership || !user)
      throw new BulwarkError('not_found', 'no such member in this organization');
    return { user, membership };
  }
}
