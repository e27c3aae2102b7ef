import {
  BulwarkError,
  type LoginRequest,
  type SetupRequest,
  type TokenPair,
} from '@bulwark/protocol';
import type { AccessTokenSigner } from '../ports/tokens.js';
import type { Clock } from '../ports/clock.js';
import type { Membership, Organization, RefreshSession, User } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { randomToken, safeEqual, sha256Hex } from '../shared/hash.js';
import type { SecretBox } from '../shared/secret-box.js';
import type { IdentityConfig } from './config.js';
import { checkPasswordPolicy, DUMMY_HASH_INPUT, hashPassword, verifyPassword } from './password.js';
import { permissionsFor } from './permissions.js';
import type { Principal } from './principal.js';
import { base32Decode, base32Encode, newTotpSecret, otpauthUrl, verifyTotp } from './totp.js';
import { parseApiKey } from './api-key-service.js';

/** Dependencies of the auth service. */
export interface AuthDeps {
  storage: Storage;
  clock: Clock;
  box: SecretBox;
  tokens: AccessTokenSigner;
  config: IdentityConfig;
}

const SETUP_KEY = 'setup_token';
const TOTP_CONTEXT = 'totp-secret';

interface OwnerInput {
  organization: string;
  email: string;
  name: string;
  passwordHash: string;
}

interface SetupRecord {
  hash: string;
  expiresAt: number;
  usedAt: number | null;
}

/**
 * First-start setup, logins, sessions and bearer-token authentication. Failed logins lock the
 * account with a backoff that doubles per failure; refresh tokens rotate on every use and the reuse
 * of a rotated one revokes every session of the user (OAuth 2.0 Security BCP §4.14).
 */
export class AuthService {
  readonly #d: AuthDeps;
  #dummyHash: Promise<string> | undefined;

  constructor(deps: AuthDeps) {
    this.#d = deps;
  }

  /** Whether the hub still waits for its first owner. */
  async setupRequired(): Promise<boolean> {
    return (await this.#d.storage.users.count()) === 0;
  }

  /**
   * On a hub without users, makes a new one-time setup token (replacing any earlier one) and returns
   * it for printing once; returns undefined when the hub already has users.
   */
  async issueSetupToken(): Promise<{ token: string; expiresAt: number } | undefined> {
    if (!(await this.setupRequired())) return undefined;
    const token = `bws_${randomToken(24)}`;
    const expiresAt = this.#d.clock.now() + this.#d.config.setupTokenTtlSeconds * 1000;
    const rec: SetupRecord = { hash: sha256Hex(token), expiresAt, usedAt: null };
    await this.#d.storage.system.put(SETUP_KEY, JSON.stringify(rec));
    return { token, expiresAt };
  }

  /** Creates the first organization and its owner with the setup token; the token then dies. */
  async completeSetup(
    req: SetupRequest,
  ): Promise<{ organization: Organization; user: User; membership: Membership }> {
    const { storage, clock } = this.#d;
    const raw = await storage.system.get(SETUP_KEY);
    const rec = raw === undefined ? undefined : (JSON.parse(raw) as SetupRecord);
    if (!rec || !safeEqual(rec.hash, sha256Hex(req.token)))
      throw new BulwarkError('setup_token_invalid');
    if (rec.usedAt !== null) throw new BulwarkError('setup_token_used');
    if (rec.expiresAt <= clock.now()) {
      throw new BulwarkError(
        'setup_token_expired',
        'the setup token has expired; restart the hub for a new one',
      );
    }
    if (!(await this.setupRequired())) throw new BulwarkError('setup_complete');
    checkPasswordPolicy(req.password, req.email);
    const passwordHash = await hashPassword(req.password, this.#d.config.scrypt);
    // Consume first: of two racing setups only one wins the compare-and-set.
    const used: SetupRecord = { ...rec, usedAt: clock.now() };
    if (!(await storage.system.compareAndSet(SETUP_KEY, raw, JSON.stringify(used)))) {
      throw new BulwarkError('setup_token_used');
    }
    return this.#bootstrap({
      organization: req.organization,
      email: req.email,
      name: req.name,
      passwordHash,
    });
  }

  /**
   * Makes a new organization with a new owner outside the setup flow (the local `admin
   * create-owner`); any pending setup token dies, so it cannot create a second first owner.
   */
  async createOwner(
    input: OwnerInput,
  ): Promise<{ organization: Organization; user: User; membership: Membership }> {
    const r = await this.#bootstrap(input);
    const raw = await this.#d.storage.system.get(SETUP_KEY);
    const rec = raw === undefined ? undefined : (JSON.parse(raw) as SetupRecord);
    if (rec && rec.usedAt === null) {
      await this.#d.storage.system.compareAndSet(
        SETUP_KEY,
        raw,
        JSON.stringify({ ...rec, usedAt: this.#d.clock.now() }),
      );
    }
    return r;
  }

  async #bootstrap(
    input: OwnerInput,
  ): Promise<{ organization: Organization; user: User; membership: Membership }> {
    const now = this.#d.clock.now();
    const organization: Organization = { id: newId(now), name: input.organization, createdAt: now };
    const user = this.#newUser(input.email, input.name, input.passwordHash, now);
    const membership: Membership = {
      orgId: organization.id,
      userId: user.id,
      role: 'owner',
      grants: [],
      createdAt: now,
    };
    await this.#d.storage.organizations.bootstrap(organization, user, membership);
    return { organization, user, membership };
  }

  /** Hashes a password after checking the policy (for callers that create users). */
  async hashNewPassword(password: string, email: string): Promise<string> {
    checkPasswordPolicy(password, email);
    return hashPassword(password, this.#d.config.scrypt);
  }

  #newUser(email: string, name: string, passwordHash: string, now: number): User {
    return {
      id: newId(now),
      email: email.toLowerCase(),
      name,
      passwordHash,
      totpSecretSealed: null,
      totpEnabled: false,
      failedLogins: 0,
      lockedUntil: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Builds a user record (hashing the password under the policy). */
  async newUser(email: string, name: string, password: string): Promise<User> {
    return this.#newUser(
      email,
      name,
      await this.hashNewPassword(password, email),
      this.#d.clock.now(),
    );
  }

  /** Email + password (+ TOTP) → a token pair; repeated failures lock the account for a while. */
  async login(req: LoginRequest): Promise<TokenPair & { userId: string }> {
    const { storage, clock, config } = this.#d;
    const now = clock.now();
    const user = await storage.users.getByEmail(req.email);
    if (!user) {
      // Spend the same time as for a real account, so timing does not reveal which emails exist.
      this.#dummyHash ??= hashPassword(DUMMY_HASH_INPUT, config.scrypt);
      await verifyPassword(req.password, await this.#dummyHash);
      throw new BulwarkError('invalid_credentials');
    }
    if (user.lockedUntil !== null && user.lockedUntil > now)
      throw this.#locked(user.lockedUntil, now);
    if (!(await verifyPassword(req.password, user.passwordHash))) {
      await this.#fail(user, now);
      throw new BulwarkError('invalid_credentials');
    }
    if (user.totpEnabled) {
      if (req.totp === undefined) throw new BulwarkError('totp_required');
      if (!(await this.#checkTotp(user, req.totp, now))) {
        await this.#fail(user, now);
        throw new BulwarkError('totp_invalid');
      }
    }
    if (user.failedLogins !== 0 || user.lockedUntil !== null) {
      await storage.users.update(user.id, { failedLogins: 0, lockedUntil: null, updatedAt: now });
    }
    const memberships = await storage.memberships.listByUser(user.id);
    const m = req.organizationId
      ? memberships.find((x) => x.orgId === req.organizationId)
      : memberships[0];
    if (!m) throw new BulwarkError('forbidden', 'the user is not a member of that organization');
    return { ...(await this.#openSession(user.id, m.orgId, now)), userId: user.id };
  }

  /** The account an email names and its first organization, for filing a failed login (audit). */
  async accountOf(
    email: string,
  ): Promise<{ userId: string; orgId: string | undefined } | undefined> {
    const user = await this.#d.storage.users.getByEmail(email);
    if (!user) return undefined;
    const [m] = await this.#d.storage.memberships.listByUser(user.id);
    return { userId: user.id, orgId: m?.orgId };
  }

  #locked(until: number, now: number): BulwarkError {
    const retryAfter = Math.ceil((until - now) / 1000);
    return new BulwarkError(
      'account_locked',
      `too many failed logins; try again in ${retryAfter} s`,
      {
        extra: { retryAfter },
      },
    );
  }

  async #fail(user: User, now: number): Promise<void> {
    const { threshold, baseSeconds, maxSeconds } = this.#d.config.lockout;
    const failedLogins = user.failedLogins + 1;
    const over = failedLogins - threshold;
    const lockedUntil =
      over >= 0 ? now + Math.min(maxSeconds, baseSeconds * 2 ** over) * 1000 : user.lockedUntil;
    await this.#d.storage.users.update(user.id, { failedLogins, lockedUntil, updatedAt: now });
  }

  async #checkTotp(user: User, code: string, now: number): Promise<boolean> {
    if (!user.totpSecretSealed) return false;
    const secret = this.#d.box.open(user.totpSecretSealed, TOTP_CONTEXT);
    const step = verifyTotp(secret, code, now);
    if (step === null) return false;
    // RFC 6238 §5.2: a code is accepted once; remember the last step used.
    const key = `totp_step:${user.id}`;
    const last = await this.#d.storage.system.get(key);
    if (last !== undefined && Number(last) >= step) return false;
    return this.#d.storage.system.compareAndSet(key, last, String(step));
  }

  async #openSession(
    userId: string,
    orgId: string,
    now: number,
    id = newId(now),
  ): Promise<TokenPair> {
    const session = this.#newSession(userId, orgId, now, id);
    await this.#d.storage.sessions.create(session.record);
    return this.#pair(session, orgId);
  }

  #newSession(userId: string, orgId: string, now: number, id = newId(now)) {
    const refreshToken = `bwr_${randomToken(32)}`;
    const record: RefreshSession = {
      id,
      userId,
      orgId,
      tokenHash: sha256Hex(refreshToken),
      createdAt: now,
      expiresAt: now + this.#d.config.refreshTokenTtlSeconds * 1000,
      revokedAt: null,
      replacedBy: null,
    };
    return { record, refreshToken };
  }

  async #pair(
    s: { record: RefreshSession; refreshToken: string },
    orgId: string,
  ): Promise<TokenPair> {
    const ttl = this.#d.config.accessTokenTtlSeconds;
    const accessToken = await this.#d.tokens.sign(
      { sub: s.record.userId, org: orgId, sid: s.record.id },
      ttl,
    );
    return {
      accessToken,
      refreshToken: s.refreshToken,
      tokenType: 'Bearer',
      expiresIn: ttl,
      organizationId: orgId,
    };
  }

  /** Rotates a refresh token. Presenting an already-rotated token revokes all the user's sessions. */
  async refresh(refreshToken: string): Promise<TokenPair & { userId: string }> {
    const { storage, clock } = this.#d;
    const now = clock.now();
    const s = await storage.sessions.getByTokenHash(sha256Hex(refreshToken));
    if (!s) throw new BulwarkError('refresh_token_invalid');
    if (s.revokedAt !== null) {
      if (s.replacedBy !== null) await storage.sessions.revokeAllForUser(s.userId, now);
      throw new BulwarkError(
        'refresh_token_invalid',
        'the refresh token was already used or revoked',
      );
    }
    if (s.expiresAt <= now)
      throw new BulwarkError('refresh_token_invalid', 'the refresh token has expired');
    if (!(await storage.memberships.get(s.orgId, s.userId)))
      throw new BulwarkError('refresh_token_invalid');
    const next = this.#newSession(s.userId, s.orgId, now);
    if (!(await storage.sessions.rotate(s.id, next.record, now))) {
      await storage.sessions.revokeAllForUser(s.userId, now);
      throw new BulwarkError('refresh_token_invalid', 'the refresh token was already used');
    }
    return { ...(await this.#pair(next, s.orgId)), userId: s.userId };
  }

  /** Revokes the session of a refresh token (unknown tokens are ignored: logout is idempotent). */
  async logout(refreshToken: string): Promise<void> {
    const s = await this.#d.storage.sessions.getByTokenHash(sha256Hex(refreshToken));
    if (s && s.revokedAt === null) await this.#d.storage.sessions.revoke(s.id, this.#d.clock.now());
  }

  /**
   * Resolves a bearer token (an access token or an API key) to a principal. Membership and session
   * are re-read on every call, so removing a user or revoking a session takes effect at once.
   */
  async authenticate(bearer: string): Promise<Principal> {
    if (bearer.startsWith('bwk_')) return this.#authenticateApiKey(bearer);
    const { storage } = this.#d;
    const claims = await this.#d.tokens.verify(bearer);
    const [m, user] = await Promise.all([
      storage.memberships.get(claims.org, claims.sub),
      storage.users.get(claims.sub),
    ]);
    if (!m || !user)
      throw new BulwarkError('access_token_invalid', 'the user is no longer a member');
    return {
      kind: 'user',
      id: user.id,
      orgId: m.orgId,
      name: user.name,
      role: m.role,
      permissions: permissionsFor(m.role, m.grants),
      sessionId: claims.sid,
    };
  }

  async #authenticateApiKey(presented: string): Promise<Principal> {
    const { storage, clock } = this.#d;
    const parsed = parseApiKey(presented);
    const key = parsed ? await storage.apiKeys.get(parsed.id) : undefined;
    if (!parsed || !key || !safeEqual(key.secretHash, sha256Hex(parsed.secret))) {
      throw new BulwarkError('api_key_invalid');
    }
    const now = clock.now();
    if (key.revokedAt !== null) throw new BulwarkError('api_key_revoked');
    if (key.expiresAt !== null && key.expiresAt <= now)
      throw new BulwarkError('api_key_invalid', 'the API key has expired');
    // Record use at most once a minute, not on every request.
    if (key.lastUsedAt === null || now - key.lastUsedAt > 60_000)
      await storage.apiKeys.touch(key.id, now);
    return {
      kind: 'api_key',
      id: key.id,
      orgId: key.orgId,
      name: key.name,
      role: null,
      permissions: key.permissions as Principal['permissions'],
    };
  }

  /** Starts TOTP enrollment: a new secret, sealed and stored but not enabled until confirmed. */
  async beginTotp(userId: string): Promise<{ secret: string; otpauthUrl: string }> {
    const user = await this.#user(userId);
    if (user.totpEnabled)
      throw new BulwarkError('conflict', 'TOTP is already enabled; disable it first');
    const secret = newTotpSecret();
    const now = this.#d.clock.now();
    await this.#d.storage.users.update(userId, {
      totpSecretSealed: this.#d.box.seal(secret, TOTP_CONTEXT),
      updatedAt: now,
    });
    const b32 = base32Encode(secret);
    return { secret: b32, otpauthUrl: otpauthUrl(b32, user.email) };
  }

  /** Enables TOTP once the user proves their app produces the right codes. */
  async confirmTotp(userId: string, code: string): Promise<void> {
    const user = await this.#user(userId);
    if (!user.totpSecretSealed) throw new BulwarkError('totp_not_enrolled');
    if (!(await this.#checkTotp(user, code, this.#d.clock.now())))
      throw new BulwarkError('totp_invalid');
    await this.#d.storage.users.update(userId, {
      totpEnabled: true,
      updatedAt: this.#d.clock.now(),
    });
  }

  /** Turns TOTP off; needs a current code. */
  async disableTotp(userId: string, code: string): Promise<void> {
    const user = await this.#user(userId);
    if (!user.totpEnabled) throw new BulwarkError('totp_not_enrolled');
    if (!(await this.#checkTotp(user, code, this.#d.clock.now())))
      throw new BulwarkError('totp_invalid');
    await this.#d.storage.users.update(userId, {
      totpEnabled: false,
      totpSecretSealed: null,
      updatedAt: this.#d.clock.now(),
    });
  }

  async #user(id: string): Promise<User> {
    const u = await this.#d.storage.users.get(id);
    if (!u) throw new BulwarkError('not_found', 'no such user');
    return u;
  }
}

/** Decodes a base32 TOTP secret (for tests and tools that compute codes). */
export const decodeTotpSecret = base32Decode;
