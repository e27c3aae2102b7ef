/**
 * How HTTP authentication uses the failure throttle (decision 0013): logins are throttled per
 * source address and per source + account before any password is checked, bearer credentials
 * (access tokens, API keys, refresh and setup tokens) per source. A throttled caller is told only
 * that its address must wait — the same for every account, known or not.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { AuthThrottleConfig } from './config.js';
import { FailureThrottle } from './failure-throttle.js';

/** The throttles of one hub node (in memory: each node counts what it sees). */
export class AuthThrottles {
  readonly #loginSource: FailureThrottle;
  readonly #loginAccount: FailureThrottle;
  readonly #credentials: FailureThrottle;

  constructor(config: AuthThrottleConfig, clock: Clock) {
    this.#loginSource = new FailureThrottle(config.loginSource, clock);
    this.#loginAccount = new FailureThrottle(config.loginAccount, clock);
    this.#credentials = new FailureThrottle(config.credentialSource, clock);
  }

  /** Throws `rate_limited` when the source, or the source for this account, must wait. */
  checkLogin(source: string | null, email: string): void {
    if (source === null) return;
    refuseIfWaiting(
      Math.max(
        this.#loginSource.retryAfterMs([source]),
        this.#loginAccount.retryAfterMs([pairKey(source, email)]),
      ),
    );
  }

  /** A failed password or TOTP code from `source` for the account `email` names (known or not). */
  loginFailed(source: string | null, email: string): void {
    if (source === null) return;
    this.#loginSource.failed([source]);
    this.#loginAccount.failed([pairKey(source, email)]);
  }

  /**
   * A login succeeded: the source + account pair starts again. The source's own count does not —
   * an attacker holding one account must not be able to wipe it by logging in to that account.
   */
  loginSucceeded(source: string | null, email: string): void {
    if (source !== null) this.#loginAccount.succeeded([pairKey(source, email)]);
  }

  /** Throws `rate_limited` when the source must wait before presenting another credential. */
  checkCredential(source: string | null): void {
    if (source !== null) refuseIfWaiting(this.#credentials.retryAfterMs([source]));
  }

  /** A bearer credential (access token, API key, refresh or setup token) from `source` failed. */
  credentialFailed(source: string | null): void {
    if (source !== null) this.#credentials.failed([source]);
  }
}

// The email is lower-cased as the user store compares it; NUL cannot occur in a source address.
function pairKey(source: string, email: string): string {
  return `${source}\u0000${email.toLowerCase()}`;
}

function refuseIfWaiting(ms: number): void {
  if (ms <= 0) return;
  const retryAfter = Math.ceil(ms / 1000);
  throw new BulwarkError(
    'rate_limited',
    `too many failed attempts from this address; try again in ${retryAfter} s`,
    { extra: { retryAfter } },
  );
}
