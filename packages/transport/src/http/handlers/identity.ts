import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { apiKeyView, orgView, userView } from '../views.js';

type IdentityHandlers = Pick<
  Handlers,
  | 'listOrganizations'
  | 'createOrganization'
  | 'listUsers'
  | 'createUser'
  | 'updateUser'
  | 'removeUser'
  | 'resetUserPassword'
  | 'transferOwnership'
  | 'addScopedGrant'
  | 'removeScopedGrant'
  | 'listApiKeys'
  | 'createApiKey'
  | 'revokeApiKey'
>;

/** Organizations, members and API keys. */
export function identityHandlers(s: HttpServices): IdentityHandlers {
  return {
    listOrganizations: async (_i, ctx) => (await s.orgs.listFor(principalOf(ctx))).map(orgView),
    createOrganization: async ({ body }, ctx) => {
      const org = await s.orgs.create(principalOf(ctx).id, body.name);
      ctx.audit.targetId = org.id;
      return orgView(org);
    },
    listUsers: async (_i, ctx) => (await s.orgs.listMembers(principalOf(ctx).orgId)).map(userView),
    createUser: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.detail = { email: body.email, role: body.role };
      const m = await s.orgs.addMember(p.orgId, p, body);
      ctx.audit.targetId = m.user.id;
      return userView(m);
    },
    updateUser: async ({ params, body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.detail = { ...body };
      return userView(await s.orgs.updateMember(p.orgId, p, params.id, body));
    },
    removeUser: async ({ params }, ctx) => {
      const p = principalOf(ctx);
      await s.orgs.removeMember(p.orgId, p, params.id);
    },
    resetUserPassword: async ({ params, body }, ctx) => {
      const p = principalOf(ctx);
      const r = await s.orgs.resetPassword(p.orgId, p, params.id, body.password);
      ctx.audit.detail = { revokedSessions: r.revokedSessions };
      return r;
    },
    transferOwnership: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.targetId = body.userId;
      const r = await s.orgs.transferOwnership(p.orgId, p, body.userId);
      return { owner: userView(r.owner), previousOwner: userView(r.previousOwner) };
    },
    addScopedGrant: async ({ params, body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.targetId = params.id;
      ctx.audit.detail = { ...body };
      const { membership, grant } = await s.scopedGrants.add(p.orgId, p, params.id, body);
      ctx.audit.detail = { ...body, grantId: grant.id };
      return userView({ user: await s.orgs.user(membership.userId), membership });
    },
    removeScopedGrant: async ({ params }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.targetId = params.id;
      ctx.audit.detail = { grantId: params.grantId };
      const membership = await s.scopedGrants.remove(p.orgId, p, params.id, params.grantId);
      return userView({ user: await s.orgs.user(membership.userId), membership });
    },
    listApiKeys: async (_i, ctx) => (await s.apiKeys.list(principalOf(ctx).orgId)).map(apiKeyView),
    createApiKey: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.detail = { name: body.name, permissions: body.permissions };
      const r = await s.apiKeys.create(p.orgId, p, body);
      ctx.audit.targetId = r.apiKey.id;
      return { apiKey: apiKeyView(r.apiKey), key: r.key };
    },
    revokeApiKey: async ({ params }, ctx) => s.apiKeys.revoke(principalOf(ctx).orgId, params.id),
  };
}
