import { DEFAULT_SCRYPT_COST, type ScryptCost } from './password.js';

/** Tunables of the identity service; the hub's config fills them. */
export interface IdentityConfig {
  /** Access tokens are short-lived: a revoked session stops minting new ones within this time. */
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  setupTokenTtlSeconds: number;
  scrypt: ScryptCost;
  /** Failures before the first lock, base lock time, and its cap (doubles per further failure). */
  lockout: { threshold: number; baseSeconds: number; maxSeconds: number };
}

export const DEFAULT_IDENTITY_CONFIG: IdentityConfig = {
  accessTokenTtlSeconds: 15 * 60,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  setupTokenTtlSeconds: 24 * 3600,
  scrypt: DEFAULT_SCRYPT_COST,
  lockout: { threshold: 5, baseSeconds: 30, maxSeconds: 15 * 60 },
};
