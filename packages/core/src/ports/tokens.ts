/** Claims of a short-lived access token. */
export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Organization the token acts in. */
  org: string;
  /** Refresh session it was minted from (revoking the session stops new tokens). */
  sid: string;
}

/**
 * Signs and verifies access tokens (the hub's adapter uses JWT via `jose`, with a key derived from
 * the master key so every hub node sharing it verifies the same tokens).
 */
export interface AccessTokenSigner {
  sign(claims: AccessClaims, ttlSeconds: number): Promise<string>;
  /** @throws BulwarkError access_token_invalid | access_token_expired */
  verify(token: string): Promise<AccessClaims & { exp: number }>;
}
