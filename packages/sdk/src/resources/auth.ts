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
    /** Logs in and returns an access and a refresh token. */
    login: (body: BodyOf<'login'>) => call('login', { body }),
    /** Exchanges a refresh token for new tokens (the old one is revoked). */
    refresh: (refreshToken: string) => call('refresh', { body: { refreshToken } }),
    /** Revokes a refresh token. */
    logout: (refreshToken: string) => call('logout', { body: { refreshToken } }),
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
