import {
  BulwarkError,
  type ErrorCode,
  type LoginRequest,
  type SetupRequest,
} from '@bulwark/protocol';
import type { AccessTokenSigner } from '../ports/tokens.js';
import type { Clock } from '../ports/clock.js';
import type { Membership, Organization, User } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import type { SecretBox } from '../shared/secret-box.js';
import { AuthThrottles } from './auth-throttles.js';
import type { IdentityConfig } from './config.js';
import { checkPasswordPolicy, DUMMY_HASH_INPUT, hashPassword, verifyPassword } from './password.js';
import { permissionsFor } from './permissions.js';
import type { Principal } from './principal.js';
import { SessionTokens, type SessionPair } from './session-tokens.js';
import { SetupTokens } from './setup-token.js';
import { base32Decode, base32Encode, newTotpSecret, otpauthUrl, verifyTotp } from './totp.js';
import { verifyApiKey } from './api-key-service.js';

/** Dependencies of the auth service. */
export interface AuthDeps {
  storage: Storage;
  clock: Clock;
  box: SecretBox;
  tokens: AccessTokenSigner;
  config: IdentityConfig;
}

const TOTP_CONTEXT = 'totp-secret';

interface OwnerInput {
  organization: string;
  email: string;
  name: string;
  passwordHash: string;
}

/** Codes that mean "a presented bearer credential was wrong" (counted by the source throttle). */
const CREDENTIAL_FAILURES = new Set<ErrorCode>([
  'access_token_invalid',
  'access_token_expired',
  'api_key_invalid',
  'api_key_revoked',
  'refresh_token_invalid',
  'setup_token_invalid',
  'setup_token_used',
  'setup_token_expired',
]);

/**
 * First-start setup, logins, sessions, passwords and bearer-token authentication. Failures are
 * throttled per source address (and per source + account for logins) before any account-wide lock
 * (decision 0013); refresh tokens rotate on every use and the reuse of a rotated one revokes every
 * session of the user (OAuth 2.0 Security BCP §4.14). `source` is the caller's address, or null
 * for callers that are not remote (local commands), which no throttle counts.
 */
export class AuthService {
  readonly #d: AuthDeps;
  readonly #throttles: AuthThrottles;
  readonly #sessions: SessionTokens;
  readonly #setup: SetupTokens;
  #dummyHash: Promise<string> | undefined;

  constructor(deps: AuthDeps) {
    this.#d = deps;
    const { storage, clock, config } = deps;
    this.#throttles = new AuthThrottles(config.throttle, clock);
    this.#sessions = new SessionTokens({
      sessions: storage.sessions,
      clock,
      tokens: deps.tokens,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    });
    this.#setup = new SetupTokens({
      system: storage.system,
      clock,
      ttlSeconds: config.setupTokenTtlSeconds,
    });
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
    return this.#setup.issue();
  }

  /** Creates the first organization and its owner with the setup token; the token then dies. */
  async completeSetup(
    req: SetupRequest,
    source: string | null = null,
  ): Promise<{ organization: Organization; user: User; membership: Membership }> {
    const token = await this.#credential(source, () => this.#setup.check(req.token));
    if (!(await this.setupRequired())) throw new BulwarkError('setup_complete');
    checkPasswordPolicy(req.password, req.email);
    const passwordHash = await hashPassword(req.password, this.#d.config.scrypt);
    // Consume first: of two racing setups only one wins the compare-and-set.
    await token.consume();
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
    await this.#setup.retire();
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

  /**
   * Email + password (+ TOTP) → a token pair. A throttled source is refused before any password
   * is checked; an unknown, a locked and a wrong account are answered alike (`invalid_credentials`,
   * one scrypt each), so neither the answer nor its timing tells which emails exist.
   */
  async login(
    req: LoginRequest,
    source: string | null = null,
  ): Promise<SessionPair & { userId: string }> {
    const { storage, clock } = this.#d;
    this.#throttles.checkLogin(source, req.email);
    const now = clock.now();
    const user = await storage.users.getByEmail(req.email);
    const locked = user?.lockedUntil != null && user.lockedUntil > now;
    const passwordOk = user
      ? await verifyPassword(req.password, user.passwordHash)
      : await this.#spendDummyHash(req.password);
    if (!user || locked || !passwordOk) {
      this.#throttles.loginFailed(source, req.email);
      // A lock is not extended by failures during it, or an attacker could hold it forever.
      if (user && !locked) await this.#fail(user, now);
      throw new BulwarkError('invalid_credentials');
    }
    if (user.totpEnabled) {
      if (req.totp === undefined) throw new BulwarkError('totp_required');
      if (!(await this.#checkTotp(user, req.totp, now))) {
        this.#throttles.loginFailed(source, req.email);
        await this.#fail(user, now);
        throw new BulwarkError('totp_invalid');
      }
    }
    this.#throttles.loginSucceeded(source, req.email);
    if (user.failedLogins !== 0 || user.lockedUntil !== null) {
      await storage.users.update(user.id, { failedLogins: 0, lockedUntil: null, updatedAt: now });
    }
    const memberships = await storage.memberships.listByUser(user.id);
    const m = req.organizationId
      ? memberships.find((x) => x.orgId === req.organizationId)
      : memberships[0];
    if (!m) throw new BulwarkError('forbidden', 'the user is not a member of that organization');
    return { ...(await this.#sessions.open(user.id, m.orgId)), userId: user.id };
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

  // Spend the same time as for a real account; always "wrong".
  async #spendDummyHash(password: string): Promise<false> {
    this.#dummyHash ??= hashPassword(DUMMY_HASH_INPUT, this.#d.config.scrypt);
    await verifyPassword(password, await this.#dummyHash);
    return false;
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

  /** Rotates a refresh token. Presenting an already-rotated token revokes all the user's sessions. */
  async refresh(
    refreshToken: string,
    source: string | null = null,
  ): Promise<SessionPair & { userId: string }> {
    return this.#credential(source, () =>
      this.#sessions.rotate(refreshToken, async (s) =>
        Boolean(await this.#d.storage.memberships.get(s.orgId, s.userId)),
      ),
    );
  }

  /** Revokes the session of a refresh token (unknown tokens are ignored: logout is idempotent). */
  logout(refreshToken: string): Promise<void> {
    return this.#sessions.end(refreshToken);
  }

  /**
   * Resolves a bearer token (an access token or an API key) to a principal. Membership, session
   * and key are re-read on every call, so removing a user, logging out or revoking a key takes
   * effect at once. A source that presented too many bad credentials is refused first.
   */
  async authenticate(bearer: string, source: string | null = null): Promise<Principal> {
    return this.#credential(source, () =>
      bearer.startsWith('bwk_')
        ? this.#authenticateApiKey(bearer)
        : this.#authenticateAccessToken(bearer),
    );
  }

  async #authenticateAccessToken(bearer: string): Promise<Principal> {
    const { storage } = this.#d;
    const claims = await this.#d.tokens.verify(bearer);
    const [m, user, session] = await Promise.all([
      storage.memberships.get(claims.org, claims.sub),
      storage.users.get(claims.sub),
      this.#sessions.live(claims.sid),
    ]);
    if (!m || !user)
      throw new BulwarkError('access_token_invalid', 'the user is no longer a member');
    if (!session || session.userId !== user.id)
      throw new BulwarkError('access_token_invalid', 'the session has ended; log in again');
    return {
      kind: 'user',
      id: user.id,
      orgId: m.orgId,
      name: user.name,
      role: m.role,
      permissions: permissionsFor(m.role, m.grants),
      scopedGrants: m.scopedGrants ?? [],
      sessionId: claims.sid,
    };
  }

  async #authenticateApiKey(presented: string): Promise<Principal> {
    const key = await verifyApiKey(this.#d, presented);
    return {
      kind: 'api_key',
      id: key.id,
      orgId: key.orgId,
      name: key.name,
      role: null,
      permissions: key.permissions as Principal['permissions'],
    };
  }

  /** Runs a bearer-credential check behind the source throttle, counting its failures. */
  async #credential<T>(source: string | null, check: () => Promise<T>): Promise<T> {
    this.#throttles.checkCredential(source);
    try {
      return await check();
    } catch (err) {
      if (err instanceof BulwarkError && CREDENTIAL_FAILURES.has(err.code))
        this.#throttles.credentialFailed(source);
      throw err;
    }
  }

  /**
   * A user changes their own password: the current one is required (and wrong guesses count
   * against the login throttle of this source and account), and every other session of the user
   * ends, so a thief holding one loses it; the caller's own session stays.
   */
  async changePassword(
    p: Principal,
    current: string,
    next: string,
    source: string | null = null,
  ): Promise<{ revokedSessions: number }> {
    if (p.kind !== 'user') throw new BulwarkError('forbidden', 'only a user has a password');
    const user = await this.#user(p.id);
    this.#throttles.checkLogin(source, user.email);
    if (!(await verifyPassword(current, user.passwordHash))) {
      this.#throttles.loginFailed(source, user.email);
      throw new BulwarkError('password_incorrect');
    }
    const keep = p.sessionId ? (await this.#sessions.live(p.sessionId))?.id : undefined;
    return this.#replacePassword(user, next, keep);
  }

  /**
   * Sets a user's password without the current one (an admin's reset, checked by OrgService, or
   * the local `admin reset-password`): clears any lock and ends every session of the user.
   */
  async resetPassword(userId: string, password: string): Promise<{ revokedSessions: number }> {
    return this.#replacePassword(await this.#user(userId), password, undefined);
  }

  async #replacePassword(
    user: User,
    password: string,
    keepSession: string | undefined,
  ): Promise<{ revokedSessions: number }> {
    const passwordHash = await this.hashNewPassword(password, user.email);
    await this.#d.storage.users.update(user.id, {
      passwordHash,
      failedLogins: 0,
      lockedUntil: null,
      updatedAt: this.#d.clock.now(),
    });
    return { revokedSessions: await this.#sessions.revokeAll(user.id, keepSession) };
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
