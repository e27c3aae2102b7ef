/**
 * The records core keeps behind its storage ports. Times are epoch milliseconds (UTC); ids are
 * UUIDv7 strings (time-ordered, so they double as pagination cursors).
 */

/** A tenant. Everything else belongs to exactly one; no query crosses two. */
export interface Organization {
  id: string;
  name: string;
  createdAt: number;
}

/** The preset roles; each is a set of permissions (see identity/permissions.ts). */
export type Role = 'owner' | 'admin' | 'operator' | 'viewer';

/** A human account. Email is stored lower-cased and unique across the hub. */
export interface User {
  id: string;
  email: string;
  name: string;
  /** PHC-style scrypt string: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`. */
  passwordHash: string;
  /** TOTP secret sealed with the master key, or null when no second factor is set up. */
  totpSecretSealed: string | null;
  totpEnabled: boolean;
  /** Consecutive failed logins since the last success. */
  failedLogins: number;
  /** No login is accepted before this time (growing backoff), or null. */
  lockedUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A user's role in one organization, plus extra named grants beyond the role's preset. */
export interface Membership {
  orgId: string;
  userId: string;
  role: Role;
  grants: string[];
  /** Extra permissions on device groups only (decision 0046); absent means none. */
  scopedGrants?: ScopedGrant[];
  createdAt: number;
}

/**
 * Permissions held on a device group (decision 0046): the devices in the subtree of `locationId`
 * and/or carrying `tag` (both set: a device must match both; at least one is set).
 */
export interface ScopedGrant {
  id: string;
  permissions: string[];
  locationId: string | null;
  tag: string | null;
  /** The user or API key that gave it. */
  grantedBy: string;
  createdAt: number;
}

/** A refresh token's server-side record (the token itself is only stored as a hash). */
export interface RefreshSession {
  id: string;
  userId: string;
  orgId: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  /** Set when rotated: the session that replaced this one. Reuse of a rotated token revokes all. */
  replacedBy: string | null;
}

/** A scoped, revocable API key. The secret is shown once and stored only as a hash. */
export interface ApiKey {
  id: string;
  orgId: string;
  name: string;
  secretHash: string;
  permissions: string[];
  /** The user who made it, or null for one made by a local operator command. */
  createdBy: string | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export type DeviceState = 'provisioned' | 'active' | 'quarantined' | 'decommissioned';
export type OperatingMode = 'autonomous' | 'controlled';

/** A thing in the registry. Name is unique within its organization. */
export interface Device {
  id: string;
  orgId: string;
  name: string;
  /** Hardware model. */
  type: string;
  firmwareType: string | null;
  firmwareVersion: string | null;
  tags: string[];
  mode: OperatingMode;
  state: DeviceState;
  locationId: string | null;
  lastSeenAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Fields of a device that may change after creation. */
export type DevicePatch = Partial<
  Pick<
    Device,
    | 'name'
    | 'type'
    | 'firmwareType'
    | 'firmwareVersion'
    | 'tags'
    | 'mode'
    | 'state'
    | 'locationId'
    | 'lastSeenAt'
    | 'updatedAt'
  >
>;

/** Device list filter; every given field must match. */
export interface DeviceFilter {
  type?: string;
  state?: DeviceState;
  /** The device carries all of these tags. */
  tags?: string[];
  /** The device sits in one of these locations (core expands a subtree into this list). */
  locationIds?: string[];
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  /** The firmware version the device reports, exactly. */
  firmwareVersion?: string;
  /** Online (true) or not (false) by its presence record; a device never seen is offline. */
  online?: boolean;
}

/** What a device window may be sorted by (then by id, so the order is total). */
export const DEVICE_SORT_KEYS = [
  'name',
  'type',
  'state',
  'firmwareVersion',
  'lastSeenAt',
  'createdAt',
] as const;
export type DeviceSortKey = (typeof DEVICE_SORT_KEYS)[number];

/**
 * A window of the sorted, filtered device list by position (the console's virtualised fleet
 * table jumps to any row). Empty values (no firmware version, never seen) sort last either way.
 */
export interface DeviceWindowRequest {
  sort: DeviceSortKey;
  descending: boolean;
  offset: number;
  limit: number;
}

/** A window of devices, each with its online state, and how many match the filter in all. */
export interface DeviceWindow {
  items: (Device & { online: boolean })[];
  total: number;
}

/** A random secret for a constrained device without a certificate, stored hashed. */
export interface DeviceKey {
  id: string;
  orgId: string;
  deviceId: string;
  secretHash: string;
  createdAt: number;
  revokedAt: number | null;
}

export type LocationKind = 'site' | 'building' | 'floor' | 'room';

/** A node of the site → building → floor → room tree. */
export interface Location {
  id: string;
  orgId: string;
  parentId: string | null;
  kind: LocationKind;
  name: string;
  createdAt: number;
}

/** The scope of the hub's own CA (serving HTTPS and MQTT), as opposed to an organization id. */
export const HUB_SCOPE = '_hub';

export type CaRole = 'root' | 'issuing';

/** A certificate authority: its certificate and its private key sealed with the master key. */
export interface CaRecord {
  /** An organization id, or HUB_SCOPE. */
  scope: string;
  role: CaRole;
  certPem: string;
  keySealed: string;
  serial: string;
  notAfter: number;
  createdAt: number;
}

/** A certificate issued to a device. `serial` is lower-case hex and unique per organization. */
export interface CertificateRecord {
  serial: string;
  orgId: string;
  deviceId: string;
  certPem: string;
  /** SHA-256 of the DER certificate, lower-case hex. */
  fingerprint: string;
  /** SHA-256 of the SubjectPublicKeyInfo, lower-case hex: detects a key shared by two devices. */
  spkiSha256: string;
  notBefore: number;
  notAfter: number;
  createdAt: number;
  revokedAt: number | null;
  revocationReason: string | null;
  /** The certificate this one was renewed from (null for an enrollment): its lineage. */
  renewedFrom: string | null;
  /** The certificate that renewed this one; a certificate is renewed (superseded) at most once. */
  supersededBy: string | null;
  /** Once superseded: the end of the overlap; from then on it is refused and then revoked. */
  retireAt: number | null;
}

/** A one-time, expiring enrollment token bound to one device; stored as a hash. */
export interface EnrollmentToken {
  id: string;
  orgId: string;
  deviceId: string;
  tokenHash: string;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** `claim`: the holder of a provisioning claim token (decision 0027). */
/** `rule`: a rule on telemetry acting on its own (decision 0035); the actor id is the rule's id. */
export type ActorType =
  'user' | 'api_key' | 'device' | 'local' | 'system' | 'anonymous' | 'claim' | 'rule';

/** An audit event before the store gives it a place in the chain. */
export interface AuditDraft {
  id: string;
  orgId: string | null;
  at: number;
  actorType: ActorType;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  source: string | null;
  result: 'success' | 'failure';
  /** Canonical JSON (sorted keys) or null; stored as text so the hash is reproducible. */
  detail: string | null;
}

/** An audit event in the hash chain: `hash = SHA-256(prevHash ‖ canonical(row without hash))`. */
export interface AuditEvent extends AuditDraft {
  seq: number;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  from?: number;
  to?: number;
  action?: string;
  actorId?: string;
  targetId?: string;
}

/** A page request: at most `limit` items after the opaque `cursor`. */
export interface PageRequest {
  limit: number;
  cursor?: string | null;
}

/** A page of results; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
