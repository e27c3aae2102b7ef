import { SignJWT, jwtVerify, errors } from 'jose';
import { BulwarkError } from '@bulwark/protocol';
import type { AccessClaims, AccessTokenSigner } from '@bulwark/core';

const ISSUER = 'bulwark-hub';
const AUDIENCE = 'bulwark-api';

/**
 * Access tokens as HS256 JWTs (jose) with a key derived from the master key: every hub node that
 * shares the master key verifies every other node's tokens, and nothing else can mint them.
 */
export function jwtSigner(key: Uint8Array): AccessTokenSigner {
  return {
    async sign(claims: AccessClaims, ttlSeconds: number): Promise<string> {
      return new SignJWT({ org: claims.org, sid: claims.sid })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },
    async verify(token: string) {
      try {
        const { payload } = await jwtVerify(token, key, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
        });
        if (
          typeof payload.sub !== 'string' ||
          typeof payload['org'] !== 'string' ||
          typeof payload['sid'] !== 'string'
        ) {
          throw new BulwarkError('access_token_invalid', 'the access token lacks its claims');
        }
        return {
          sub: payload.sub,
          org: payload['org'],
          sid: payload['sid'],
          exp: payload.exp ?? 0,
        };
      } catch (err) {
        if (err instanceof BulwarkError) throw err;
        if (err instanceof errors.JWTExpired) throw new BulwarkError('access_token_expired');
        throw new BulwarkError('access_token_invalid', undefined, { cause: err });
      }
    },
  };
}
