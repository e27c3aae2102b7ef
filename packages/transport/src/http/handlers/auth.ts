import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { orgView, scopedGrantView, userView } from '../views.js';
import { BulwarkError, type TokenPair } from '@bulwark/protocol';
import type { SessionPair } from '@bulwark/core';
import type { HandlerContext } from '../context.js';
import { checkCookieRequest, clearRefreshCookie, setRefreshCookie } from '../session-cookie.js';

/** A cookie longer than any refresh token is not one (the body's token has the same bound). */
const MAX_TOKEN_LENGTH = 500;

/**
 * The token pair to answer with: as is for an API client; for a browser session the refresh token
 * goes into the HttpOnly cookie and not into the body, so the page's script never sees it.
 */
function answer(r: SessionPair & { userId: string }, ctx: HandlerContext): TokenPair {
  const { userId: _userId, refreshExpiresIn, refreshToken, ...pair } = r;
  if (!ctx.web?.cookieMode) return { ...pair, refreshToken };
  setRefreshCookie(ctx.web, refreshToken, refreshExpiresIn);
  return pair;
}

/** The refresh token of a refresh: the body's, else the cookie's (then only from the console). */
function sessionToken(fromBody: string | undefined, ctx: HandlerContext): string {
  if (fromBody !== undefined) return fromBody;
  const web = ctx.web;
  if (!web) throw new BulwarkError('refresh_token_missing');
  checkCookieRequest(web);
  if (web.cookie === undefined || web.cookie === '')
    throw new BulwarkError('refresh_token_missing');
  if (web.cookie.length > MAX_TOKEN_LENGTH) {
    clearRefreshCookie(web);
    throw new BulwarkError('refresh_token_invalid');
  }
  return web.cookie;
}

type AuthHandlers = Pick<
  Handlers,
  | 'getSetupStatus'
  | 'completeSetup'
  | 'login'
  | 'refresh'
  | 'logout'
  | 'getSessionCookie'
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
      // A browser session's login is checked like its refresh (a forged login plants a session).
      if (ctx.web?.cookieMode) checkCookieRequest(ctx.web);
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
      return answer(r, ctx);
    },
    refresh: async ({ body }, ctx) => {
      const token = sessionToken(body.refreshToken, ctx);
      const r = await s.auth.refresh(token, ctx.source).catch((err: unknown) => {
        // A dead cookie is dropped, so the browser does not present it again.
        if (body.refreshToken === undefined && ctx.web) clearRefreshCookie(ctx.web);
        throw err;
      });
      Object.assign(ctx.audit, {
        orgId: r.organizationId,
        actorType: 'user',
        actorId: r.userId,
        targetId: r.userId,
      });
      return answer(r, ctx);
    },
    logout: async ({ body }, ctx) => {
      if (body.refreshToken === undefined) {
        const web = ctx.web;
        if (!web) throw new BulwarkError('refresh_token_missing');
        checkCookieRequest(web);
        clearRefreshCookie(web);
        // Logout is idempotent: without a cookie there is nothing to revoke.
        if (web.cookie !== undefined) await s.auth.logout(web.cookie);
        return;
      }
      if (ctx.web?.cookieMode) clearRefreshCookie(ctx.web);
      await s.auth.logout(body.refreshToken);
    },
    getSessionCookie: async (_input, ctx) => ({ cookie: ctx.web?.cookie !== undefined }),
    getMe: async (_input, ctx) => {
      const p = principalOf(ctx);
      const org = await s.orgs.get(p.orgId);
      const user =
        p.kind === 'user'
          ? (await s.orgs.listMembers(p.orgId)).find((m) => m.user.id === p.id)?.user
          : undefined;
      return {
        kind: p.kind === 'user' ? 'user' : 'api_key',
        id: p.id,
        name: p.name,
        email: user?.email ?? null,
        organization: orgView(org),
        role: p.role,
        permissions: p.permissions,
        ...(p.scopedGrants ? { scopedGrants: p.scopedGrants.map(scopedGrantView) } : {}),
        ...(user ? { totpEnabled: user.totpEnabled } : {}),
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
