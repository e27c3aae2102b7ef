/**
 * User sessions (decision 0002): a refresh token — random, stored hashed, rotated on every use —
 * and short-lived access tokens minted from it. An access token names the session it came from
 * (`sid`) and is good only while that session, or the session its rotations led to, is live, so
 * logout, reuse detection and a password change end its access tokens at once (issue 11).
 */
import { BulwarkError, type TokenPair } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { RefreshSession } from '../ports/records.js';
import type { SessionStore } from '../ports/storage.js';
import type { AccessTokenSigner } from '../ports/tokens.js';
import { newId } from '../shared/ids.js';
import { randomToken, sha256Hex } from '../shared/hash.js';

/** What the session mechanics need. */
export interface SessionTokenDeps {
  sessions: SessionStore;
  clock: Clock;
  tokens: AccessTokenSigner;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

/** A token pair and how long its refresh token lives (the browser session cookie's Max-Age). */
export type SessionPair = TokenPair & { refreshToken: string; refreshExpiresIn: number };

/** Opens, rotates and ends sessions; says whether an access token's session still lives. */
export class SessionTokens {
  constructor(private readonly d: SessionTokenDeps) {}

  /** A new session for the user in the organization, and its first token pair. */
  async open(userId: string, orgId: string): Promise<SessionPair> {
    const session = this.#newSession(userId, orgId, this.d.clock.now());
    await this.d.sessions.create(session.record);
    return this.#pair(session);
  }

  /**
   * Rotates a refresh token. Presenting an already-rotated one revokes all the user's sessions
   * (OAuth 2.0 Security BCP §4.14), and with them every access token minted from them.
   * `stillMember` is asked before a new pair is minted.
   */
  async rotate(
    refreshToken: string,
    stillMember: (s: RefreshSession) => Promise<boolean>,
  ): Promise<SessionPair & { userId: string }> {
    const { sessions, clock } = this.d;
    const now = clock.now();
    const s = await sessions.getByTokenHash(sha256Hex(refreshToken));
    if (!s) throw new BulwarkError('refresh_token_invalid');
    if (s.revokedAt !== null) {
      if (s.replacedBy !== null) await sessions.revokeAllForUser(s.userId, now);
      throw new BulwarkError(
        'refresh_token_invalid',
        'the refresh token was already used or revoked',
      );
    }
    if (s.expiresAt <= now)
      throw new BulwarkError('refresh_token_invalid', 'the refresh token has expired');
    if (!(await stillMember(s))) throw new BulwarkError('refresh_token_invalid');
    const next = this.#newSession(s.userId, s.orgId, now);
    if (!(await sessions.rotate(s.id, next.record, now))) {
      await sessions.revokeAllForUser(s.userId, now);
      throw new BulwarkError('refresh_token_invalid', 'the refresh token was already used');
    }
    return { ...(await this.#pair(next)), userId: s.userId };
  }

  /** Revokes the session of a refresh token (unknown tokens are ignored: logout is idempotent). */
  async end(refreshToken: string): Promise<void> {
    const s = await this.d.sessions.getByTokenHash(sha256Hex(refreshToken));
    if (s && s.revokedAt === null) await this.d.sessions.revoke(s.id, this.d.clock.now());
  }

  /** The live session an access token's `sid` is or was rotated into, if any. */
  live(sid: string): Promise<RefreshSession | undefined> {
    return this.d.sessions.liveSuccessor(sid, this.d.clock.now());
  }

  /** Revokes every session of the user but `keep` (a session id); returns how many. */
  revokeAll(userId: string, keep?: string): Promise<number> {
    return this.d.sessions.revokeAllForUser(userId, this.d.clock.now(), keep);
  }

  #newSession(userId: string, orgId: string, now: number) {
    const refreshToken = `bwr_${randomToken(32)}`;
    const record: RefreshSession = {
      id: newId(now),
      userId,
      orgId,
      tokenHash: sha256Hex(refreshToken),
      createdAt: now,
      expiresAt: now + this.d.refreshTokenTtlSeconds * 1000,
      revokedAt: null,
      replacedBy: null,
    };
    return { record, refreshToken };
  }

  async #pair(s: { record: RefreshSession; refreshToken: string }): Promise<SessionPair> {
    const ttl = this.d.accessTokenTtlSeconds;
    const { userId: sub, orgId: org, id: sid } = s.record;
    const accessToken = await this.d.tokens.sign({ sub, org, sid }, ttl);
    return {
      accessToken,
      refreshToken: s.refreshToken,
      tokenType: 'Bearer',
      expiresIn: ttl,
      organizationId: org,
      refreshExpiresIn: Math.max(0, Math.floor((s.record.expiresAt - this.d.clock.now()) / 1000)),
    };
  }
}
