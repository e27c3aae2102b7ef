import type { BodyOf, Call } from '../types.js';

/** First-start setup: create the first organization and owner with the one-time token. */
export function setupApi(call: Call) {
  return {
    /** Whether setup is still pending. */
    status: () => call('getSetupStatus'),
    /** Completes setup (once). */
    complete: (body: BodyOf<'completeSetup'>) => call('completeSetup', { body }),
  };
}

/** User sessions, TOTP and your own password. */
export function authApi(call: Call) {
  return {
    /**
     * Logs in and returns an access and a refresh token. A client made with the header
     * `X-Bulwark-Session: cookie` (the console) gets the refresh token as an HttpOnly cookie
     * instead, and `refreshToken` is absent.
     */
    login: (body: BodyOf<'login'>) => call('login', { body }),
    /**
     * Exchanges a refresh token for new tokens (the old one is revoked). Without a token, the
     * browser's session cookie is used (needs the `X-Bulwark-Session: cookie` header).
     */
    refresh: (refreshToken?: string) =>
      call('refresh', { body: refreshToken === undefined ? {} : { refreshToken } }),
    /** Revokes a refresh token; without one, the session cookie's (and clears the cookie). */
    logout: (refreshToken?: string) =>
      call('logout', { body: refreshToken === undefined ? {} : { refreshToken } }),
    /** Whether the browser sent the session cookie (a page cannot read the HttpOnly cookie). */
    sessionCookie: () => call('getSessionCookie'),
    /** Starts TOTP enrollment; returns the secret to confirm. */
    beginTotp: () => call('beginTotp', { body: {} }),
    /** Confirms TOTP enrollment with a current code. */
    confirmTotp: (code: string) => call('confirmTotp', { body: { code } }),
    /** Turns TOTP off (needs a current code). */
    disableTotp: (code: string) => call('disableTotp', { body: { code } }),
    /** Changes your own password; your other sessions end (this one stays). */
    changePassword: (currentPassword: string, newPassword: string) =>
      call('changePassword', { body: { currentPassword, newPassword } }),
  };
}
