import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { orgView, userView } from '../views.js';

type AuthHandlers = Pick<
  Handlers,
  | 'getSetupStatus'
  | 'completeSetup'
  | 'login'
  | 'refresh'
  | 'logout'
  | 'getMe'
  | 'beginTotp'
  | 'confirmTotp'
  | 'disableTotp'
  | 'changePassword'
>;

/** Setup, login, sessions, TOTP, password change and `me`. */
export function authHandlers(s: HttpServices): AuthHandlers {
  return {
    getSetupStatus: async () => ({ required: await s.auth.setupRequired() }),
    completeSetup: async ({ body }, ctx) => {
      ctx.audit.detail = { email: body.email };
      const r = await s.auth.completeSetup(body, ctx.source);
      Object.assign(ctx.audit, {
        orgId: r.organization.id,
        actorType: 'user',
        actorId: r.user.id,
        targetId: r.organization.id,
      });
      return {
        organization: orgView(r.organization),
        user: userView({ user: r.user, membership: r.membership }),
      };
    },
    login: async ({ body }, ctx) => {
      ctx.audit.detail = { email: body.email.toLowerCase() };
      const r = await s.auth.login(body, ctx.source).catch(async (err: unknown) => {
        // File the failure under the account it targeted, so brute force shows in its organization.
        const account = await s.auth.accountOf(body.email);
        if (account)
          Object.assign(ctx.audit, {
            targetId: account.userId,
            ...(account.orgId ? { orgId: account.orgId } : {}),
          });
        throw err;
      });
      Object.assign(ctx.audit, {
        orgId: r.organizationId,
        actorType: 'user',
        actorId: r.userId,
        targetId: r.userId,
      });
      const { userId: _userId, ...pair } = r;
      return pair;
    },
    refresh: async ({ body }, ctx) => {
      const r = await s.auth.refresh(body.refreshToken, ctx.source);
      Object.assign(ctx.audit, {
        orgId: r.organizationId,
        actorType: 'user',
        actorId: r.userId,
        targetId: r.userId,
      });
      const { userId: _userId, ...pair } = r;
      return pair;
    },
    logout: async ({ body }) => {
      await s.auth.logout(body.refreshToken);
    },
    getMe: async (_input, ctx) => {
      const p = principalOf(ctx);
      const org = await s.orgs.get(p.orgId);
      const email =
        p.kind === 'user'
          ? ((await s.orgs.listMembers(p.orgId)).find((m) => m.user.id === p.id)?.user.email ??
            null)
          : null;
      return {
        kind: p.kind === 'user' ? 'user' : 'api_key',
        id: p.id,
        name: p.name,
        email,
        organization: orgView(org),
        role: p.role,
        permissions: p.permissions,
      };
    },
    beginTotp: async (_input, ctx) => s.auth.beginTotp(principalOf(ctx).id),
    confirmTotp: async ({ body }, ctx) => s.auth.confirmTotp(principalOf(ctx).id, body.code),
    disableTotp: async ({ body }, ctx) => s.auth.disableTotp(principalOf(ctx).id, body.code),
    changePassword: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.targetId = p.id;
      const r = await s.auth.changePassword(p, body.currentPassword, body.newPassword, ctx.source);
      ctx.audit.detail = { revokedSessions: r.revokedSessions };
      return r;
    },
  };
}
