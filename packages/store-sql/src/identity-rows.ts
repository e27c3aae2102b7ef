import type {
  ApiKey,
  Membership,
  Organization,
  RefreshSession,
  Role,
  ScopedGrant,
  User,
} from '@bulwark/core';
import type { ColumnCodec, ColumnTypes } from './columns.js';

/** A row of `organizations`. */
export interface OrgRow {
  id: string;
  name: string;
  created_at: number;
}

/** An `organizations` row as its record. */
export const toOrg = (r: OrgRow): Organization => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
});

/** A row of `users`; `totp_enabled` is the dialect's boolean. */
export interface UserRow<T extends ColumnTypes> {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  totp_secret_sealed: string | null;
  totp_enabled: T['bool'];
  failed_logins: number;
  locked_until: number | null;
  created_at: number;
  updated_at: number;
}

/** The `users` row → User mapper for one dialect's codec. */
export const toUserWith =
  <T extends ColumnTypes>(codec: ColumnCodec<T>) =>
  (r: UserRow<T>): User => ({
    id: r.id,
    email: r.email,
    name: r.name,
    passwordHash: r.password_hash,
    totpSecretSealed: r.totp_secret_sealed,
    totpEnabled: codec.bool(r.totp_enabled),
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

/** Patchable user fields and their `users` columns. */
export const USER_COLUMNS = {
  email: 'email',
  name: 'name',
  passwordHash: 'password_hash',
  totpSecretSealed: 'totp_secret_sealed',
  totpEnabled: 'totp_enabled',
  failedLogins: 'failed_logins',
  lockedUntil: 'locked_until',
  updatedAt: 'updated_at',
} as const satisfies Record<keyof Omit<User, 'id' | 'createdAt'>, string>;

/** A row of `memberships`; `grants` is the dialect's list of strings. */
export interface MembershipRow<T extends ColumnTypes> {
  org_id: string;
  user_id: string;
  role: string;
  grants: T['strings'];
  /** JSON text: the ScopedGrant list (decision 0046); older rows read as '[]'. */
  scoped_grants?: string | null;
  created_at: number;
}

/** The `memberships` row → Membership mapper for one dialect's codec. */
export const toMembershipWith =
  <T extends ColumnTypes>(codec: ColumnCodec<T>) =>
  (r: MembershipRow<T>): Membership => ({
    orgId: r.org_id,
    userId: r.user_id,
    role: r.role as Role,
    grants: codec.strings(r.grants),
    scopedGrants: r.scoped_grants ? (JSON.parse(r.scoped_grants) as ScopedGrant[]) : [],
    createdAt: r.created_at,
  });

/** A row of `refresh_sessions`. */
export interface SessionRow {
  id: string;
  user_id: string;
  org_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  replaced_by: string | null;
}

/** A `refresh_sessions` row as its record. */
export const toSession = (r: SessionRow): RefreshSession => ({
  id: r.id,
  userId: r.user_id,
  orgId: r.org_id,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  replacedBy: r.replaced_by,
});

/**
 * The live session a refresh session is, or was rotated into: follows `replaced_by` from the
 * given id (at most 64 rotations) and selects the row that is neither revoked nor expired. An
 * access token names the session it was minted from; it stays good while that session's rotation
 * chain is alive, and dies when the chain is revoked (logout, reuse detection, password change).
 * Plain SQL both dialects run, `?` placeholders: the session id, then the time.
 */
export const LIVE_SESSION_SQL = `WITH RECURSIVE chain (id, replaced_by, depth) AS (
    SELECT id, replaced_by, 0 FROM refresh_sessions WHERE id = ?
    UNION ALL
    SELECT s.id, s.replaced_by, c.depth + 1
    FROM refresh_sessions s JOIN chain c ON s.id = c.replaced_by
    WHERE c.depth < 64
  )
  SELECT s.* FROM chain c JOIN refresh_sessions s ON s.id = c.id
  WHERE s.revoked_at IS NULL AND s.expires_at > ?
  LIMIT 1`;

/** A row of `api_keys`; `permissions` is the dialect's list of strings. */
export interface ApiKeyRow<T extends ColumnTypes> {
  id: string;
  org_id: string;
  name: string;
  secret_hash: string;
  permissions: T['strings'];
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** The `api_keys` row → ApiKey mapper for one dialect's codec. */
export const toApiKeyWith =
  <T extends ColumnTypes>(codec: ColumnCodec<T>) =>
  (r: ApiKeyRow<T>): ApiKey => ({
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    secretHash: r.secret_hash,
    permissions: codec.strings(r.permissions),
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  });
