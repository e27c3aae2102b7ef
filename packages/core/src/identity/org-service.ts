import { BulwarkError, type CreateUserRequest, type UpdateUserRequest } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Membership, Organization, User } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import type { AuthService } from './auth-service.js';
import type { Principal } from './principal.js';

/** A member as the API shows it. */
export interface Member {
  user: User;
  membership: Membership;
}

/** Organizations (tenants) and their members. */
export class OrgService {
  constructor(private readonly d: { storage: Storage; clock: Clock; auth: AuthService }) {}

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

  /** A new organization whose owner is the calling user. */
  async create(userId: string, name: string): Promise<Organization> {
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

  /** Creates a user as a member with a role. Only an owner may make another owner. */
  async addMember(orgId: string, by: Principal, req: CreateUserRequest): Promise<Member> {
    this.#mayAssign(by, req.role);
    const user = await this.d.auth.newUser(req.email, req.name, req.password);
    const membership: Membership = {
      orgId,
      userId: user.id,
      role: req.role,
      grants: req.grants ?? [],
      createdAt: user.createdAt,
    };
    await this.d.storage.users.create(user);
    await this.d.storage.memberships.put(membership);
    return { user, membership };
  }

  /** Changes a member's role or grants; the last owner cannot be demoted. */
  async updateMember(
    orgId: string,
    by: Principal,
    userId: string,
    req: UpdateUserRequest,
  ): Promise<Member> {
    const { user, membership } = await this.#member(orgId, userId);
    if (req.role !== undefined) this.#mayAssign(by, req.role);
    if (membership.role === 'owner') this.#mayAssign(by, 'owner');
    if (membership.role === 'owner' && req.role !== undefined && req.role !== 'owner')
      await this.#keepOwner(orgId);
    const next: Membership = {
      ...membership,
      role: req.role ?? membership.role,
      grants: req.grants ?? membership.grants,
    };
    await this.d.storage.memberships.put(next);
    return { user, membership: next };
  }

  /** Removes a member and revokes their sessions; the last owner cannot be removed. */
  async removeMember(orgId: string, by: Principal, userId: string): Promise<void> {
    const { membership } = await this.#member(orgId, userId);
    if (membership.role === 'owner') {
      this.#mayAssign(by, 'owner');
      await this.#keepOwner(orgId);
    }
    await this.d.storage.memberships.remove(orgId, userId);
    await this.d.storage.sessions.revokeAllForUser(userId, this.d.clock.now());
  }

  #mayAssign(by: Principal, role: string): void {
    if (role === 'owner' && !by.permissions.includes('org:manage')) {
      throw new BulwarkError(
        'forbidden',
        'only an owner may grant, change or remove the owner role',
      );
    }
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
