/**
 * Which refusals are failed HTTP authentications, by reason — the label of
 * `bulwark_auth_failures_total{protocol="http",reason}`. The set is small and fixed on purpose: a
 * label per error code would let callers grow the metric's series.
 */
import type { ErrorCode } from '@bulwark/protocol';

/** Why an HTTP authentication failed. */
export type AuthFailureReason =
  'password' | 'totp' | 'refresh_token' | 'access_token' | 'api_key' | 'setup_token' | 'throttled';

const REASONS: Partial<Record<ErrorCode, AuthFailureReason>> = {
  invalid_credentials: 'password',
  password_incorrect: 'password',
  totp_invalid: 'totp',
  refresh_token_invalid: 'refresh_token',
  access_token_invalid: 'access_token',
  access_token_expired: 'access_token',
  api_key_invalid: 'api_key',
  api_key_revoked: 'api_key',
  setup_token_invalid: 'setup_token',
  setup_token_used: 'setup_token',
  setup_token_expired: 'setup_token',
  // refused before any check because the source failed too often
  rate_limited: 'throttled',
};

/** The reason an error code counts as a failed authentication, or undefined when it does not. */
export function authFailureReason(code: ErrorCode): AuthFailureReason | undefined {
  return REASONS[code];
}
