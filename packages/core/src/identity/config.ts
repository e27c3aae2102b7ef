import type { ThrottlePolicy } from './failure-throttle.js';
import { DEFAULT_SCRYPT_COST, type ScryptCost } from './password.js';

/** The in-memory failure throttles of HTTP authentication (decision 0013). */
export interface AuthThrottleConfig {
  /** Failed logins from one source address, whatever the account. */
  loginSource: ThrottlePolicy;
  /** Failed logins from one source address for one account (email as typed). */
  loginAccount: ThrottlePolicy;
  /** Failed bearer tokens, API keys, refresh and setup tokens from one source address. */
  credentialSource: ThrottlePolicy;
}

/** Tunables of the identity service; the hub's config fills them. */
export interface IdentityConfig {
  /** Access tokens are short-lived: a revoked session stops minting new ones within this time. */
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  setupTokenTtlSeconds: number;
  scrypt: ScryptCost;
  /**
   * The account-wide lock, kept in the database so it holds on every node: failures before the
   * first lock, base lock time, and its cap (doubles per further failure). It is a backstop
   * against a brute force spread over many sources, so its threshold is far above the per-source
   * throttles', and a locked account is answered exactly like a wrong password (decision 0013).
   */
  lockout: { threshold: number; baseSeconds: number; maxSeconds: number };
  throttle: AuthThrottleConfig;
  /**
   * Organizations one user may create or belong to. Each is a tenant with its own CA and data, so
   * an unlimited number lets one account grow the database without bound; 20 is far above what a
   * person administers (a consultant with many customers asks the operator for more).
   */
  maxOrgsPerUser: number;
}

// 10,000 remembered keys per throttle is ~1 MiB and covers far more distinct attackers than one
// node can usefully serve at once; beyond it the least recently failing key is forgotten.
const MAX_KEYS = 10_000;

export const DEFAULT_IDENTITY_CONFIG: IdentityConfig = {
  accessTokenTtlSeconds: 15 * 60,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  setupTokenTtlSeconds: 24 * 3600,
  scrypt: DEFAULT_SCRYPT_COST,
  // 50 failures take one source hours under the throttles below, so only a spread-out attack
  // reaches it; 1 min doubling to 15 min bounds how long such an attack keeps the owner out.
  lockout: { threshold: 50, baseSeconds: 60, maxSeconds: 15 * 60 },
  throttle: {
    // A shared office NAT may hold several people mistyping; 20 in 15 minutes is far above that.
    loginSource: {
      threshold: 20,
      windowMs: 15 * 60_000,
      baseBlockMs: 60_000,
      maxBlockMs: 15 * 60_000,
      maxKeys: MAX_KEYS,
    },
    // The old per-account rule (5 tries, 30 s doubling to 15 min), now per source + account, so
    // a stranger's failures no longer lock the owner out.
    loginAccount: {
      threshold: 5,
      windowMs: 15 * 60_000,
      baseBlockMs: 30_000,
      maxBlockMs: 15 * 60_000,
      maxKeys: MAX_KEYS,
    },
    // Bearer secrets are 256-bit, so this is against floods and scanning, not guessing: high
    // enough that a client retrying an expired token never meets it, low enough to stop a scan.
    credentialSource: {
      threshold: 100,
      windowMs: 5 * 60_000,
      baseBlockMs: 10_000,
      maxBlockMs: 5 * 60_000,
      maxKeys: MAX_KEYS,
    },
  },
  maxOrgsPerUser: 20,
};
