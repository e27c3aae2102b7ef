/**
 * Storage ports: one interface per kind of state. Adapters (store-sqlite, store-postgres) implement
 * all of them and pass the contract suite in @bulwark/testkit.
 *
 * Tenancy: every query over tenant data takes `orgId` and must filter on it, so an id from another
 * organization reads as "not found". The only unscoped lookups are those by a secret's hash or id
 * (API key, refresh token, enrollment token), which is how a caller's organization is established.
 *
 * Errors: a unique-constraint clash is reported as a BulwarkError with the code named on the method;
 * anything else is the adapter's own error.
 */
import type {
  ApiKey,
  AuditDraft,
  AuditEvent,
  AuditFilter,
  CaRecord,
  CaRole,
  CertificateRecord,
  Device,
  DeviceFilter,
  DeviceKey,
  DeviceWindow,
  DeviceWindowRequest,
  DevicePatch,
  EnrollmentToken,
  Location,
  Membership,
  Organization,
  Page,
  PageRequest,
  RefreshSession,
  User,
} from './records.js';
import type { ChannelStore, MessageStore } from './messaging.js';
import type { TicketStore } from './tickets.js';
import type { SavedViewStore } from './saved-views.js';
import type { MetricsHistoryStore } from './metrics-history.js';
import type { MqttStateStore } from './mqtt-state.js';
import type { ProvisioningStore } from './provisioning.js';
import type { DeviceLogStore } from './device-logs.js';
import type { FirmwareStore } from './firmware.js';
import type { FirmwarePolicyStore, RolloutStore } from './rollouts.js';
import type { UpdateJobStore } from './updates.js';
import type { AuditCheckStore } from './checks.js';
import type { AlertStore } from './alerts.js';
import type { NotificationStore } from './notifications.js';
import type { MitigationStore } from './mitigations.js';
import type { CommandStore, DeviceEventStore, PresenceStore, TwinStore } from './management.js';
import type { RuleStore } from './rules.js';
import type { DetectStore } from './detect.js';

export interface OrganizationStore {
  create(org: Organization): Promise<void>;
  /** Creates an organization, its first user and that user's membership atomically. */
  bootstrap(org: Organization, user: User, membership: Membership): Promise<void>;
  get(id: string): Promise<Organization | undefined>;
  listByIds(ids: readonly string[]): Promise<Organization[]>;
  /** The first `limit` organizations by id (local operator commands; not a tenant query). */
  list(limit: number): Promise<Organization[]>;
  count(): Promise<number>;
}

export interface UserStore {
  /** @throws BulwarkError `email_taken` */
  create(user: User): Promise<void>;
  get(id: string): Promise<User | undefined>;
  /** `email` is compared lower-cased. */
  getByEmail(email: string): Promise<User | undefined>;
  update(id: string, patch: Partial<Omit<User, 'id' | 'createdAt'>>): Promise<void>;
  count(): Promise<number>;
}

export interface MembershipStore {
  /** Inserts or replaces the membership of (orgId, userId). */
  put(membership: Membership): Promise<void>;
  get(orgId: string, userId: string): Promise<Membership | undefined>;
  listByUser(userId: string): Promise<Membership[]>;
  listByOrg(orgId: string): Promise<Membership[]>;
  remove(orgId: string, userId: string): Promise<boolean>;
}

export interface SessionStore {
  create(session: RefreshSession): Promise<void>;
  getByTokenHash(tokenHash: string): Promise<RefreshSession | undefined>;
  /**
   * Atomically revokes `oldId` (replacedBy = next.id) and creates `next`. Returns false and changes
   * nothing when `oldId` was already revoked: the caller treats that as refresh-token reuse.
   */
  rotate(oldId: string, next: RefreshSession, at: number): Promise<boolean>;
  revoke(id: string, at: number): Promise<void>;
  /** Revokes every live session of the user but `exceptId` (if given); returns how many. */
  revokeAllForUser(userId: string, at: number, exceptId?: string): Promise<number>;
  /**
   * The session `id` itself or the one its rotations led to, if that one is live (neither revoked
   * nor expired at `at`); undefined when the chain ended revoked or expired. Read on every request
   * made with an access token, so logout and reuse detection stop its tokens at once.
   */
  liveSuccessor(id: string, at: number): Promise<RefreshSession | undefined>;
}

export interface ApiKeyStore {
  create(key: ApiKey): Promise<void>;
  /** Unscoped: the id is part of the presented key and establishes the organization. */
  get(id: string): Promise<ApiKey | undefined>;
  /** Newest first. */
  list(orgId: string): Promise<ApiKey[]>;
  /** Returns false when no such key in this organization or already revoked. */
  revoke(orgId: string, id: string, at: number): Promise<boolean>;
  touch(id: string, at: number): Promise<void>;
}

export interface DeviceStore {
  /** @throws BulwarkError `device_name_taken` (names are unique per organization) */
  create(device: Device): Promise<void>;
  get(orgId: string, id: string): Promise<Device | undefined>;
  getByName(orgId: string, name: string): Promise<Device | undefined>;
  /** Ordered by id (creation time). */
  list(orgId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>>;
  /** Sorted and filtered, by position: the window's rows with presence, and the match count. */
  window(orgId: string, filter: DeviceFilter, req: DeviceWindowRequest): Promise<DeviceWindow>;
  /** @throws BulwarkError `device_name_taken`. Returns the updated device, or undefined if none. */
  update(orgId: string, id: string, patch: DevicePatch): Promise<Device | undefined>;
  countInLocations(orgId: string, locationIds: readonly string[]): Promise<number>;
  /**
   * Hub-wide: the organization a device id belongs to (ids are unique across organizations).
   * Only for telling a failed authentication's claimed device to its organization (detection).
   */
  orgOf(id: string): Promise<string | undefined>;
}

export interface DeviceKeyStore {
  create(key: DeviceKey): Promise<void>;
  listForDevice(orgId: string, deviceId: string): Promise<DeviceKey[]>;
  /** Unscoped: used to authenticate a device presenting its id and key. Live keys only. */
  listLiveByDeviceId(deviceId: string): Promise<DeviceKey[]>;
  revoke(orgId: string, id: string, at: number): Promise<boolean>;
  /** Hub-wide: keys revoked after `since`, oldest revocation first, at most `limit`. */
  listRevokedSince(since: number, limit: number): Promise<DeviceKey[]>;
}

export interface LocationStore {
  create(location: Location): Promise<void>;
  get(orgId: string, id: string): Promise<Location | undefined>;
  /** The organization's whole tree (small: thousands of nodes at most), ordered by id. */
  list(orgId: string): Promise<Location[]>;
  update(
    orgId: string,
    id: string,
    patch: Partial<Pick<Location, 'name' | 'parentId'>>,
  ): Promise<Location | undefined>;
  delete(orgId: string, id: string): Promise<boolean>;
}

export interface PkiStore {
  getCa(scope: string, role: CaRole): Promise<CaRecord | undefined>;
  /** Inserts the CA unless one exists for (scope, role); returns whether it was inserted. */
  putCaIfAbsent(ca: CaRecord): Promise<boolean>;

  createEnrollmentToken(token: EnrollmentToken): Promise<void>;
  /** Unscoped: the token establishes the organization. */
  getEnrollmentTokenByHash(tokenHash: string): Promise<EnrollmentToken | undefined>;
  /**
   * Atomically marks the token used and stores the certificate. Returns false and stores nothing
   * when the token was used meanwhile (two enrollments racing with one token).
   */
  completeEnrollment(tokenId: string, usedAt: number, cert: CertificateRecord): Promise<boolean>;

  insertCertificate(cert: CertificateRecord): Promise<void>;
  getCertificate(orgId: string, serial: string): Promise<CertificateRecord | undefined>;
  /** Newest first. */
  listCertificates(orgId: string, deviceId: string): Promise<CertificateRecord[]>;
  /** Live (unrevoked, unexpired at `now`) certificates of the organization with this key. */
  findLiveBySpki(orgId: string, spkiSha256: string, now: number): Promise<CertificateRecord[]>;
  /** Returns false when no such certificate or already revoked. */
  revokeCertificate(orgId: string, serial: string, at: number, reason: string): Promise<boolean>;
  listRevoked(orgId: string): Promise<CertificateRecord[]>;
  /**
   * Hub-wide: certificates revoked after `since` (epoch ms), oldest revocation first, at most
   * `limit` — every node polls this to cut live sessions of certificates revoked on any node.
   */
  listRevokedSince(since: number, limit: number): Promise<CertificateRecord[]>;
  /** The next CRL number for the organization (1, 2, 3 …), strictly increasing across nodes. */
  nextCrlNumber(orgId: string): Promise<number>;
  /**
   * Renewal, atomically and serialized per device across nodes: refuses when the device already
   * has `limit` certificates renewed after `since`, or when `cert.renewedFrom` is revoked or already
   * superseded; else marks that certificate superseded by `cert` (retiring at `retireAt`) and
   * inserts `cert`. Nothing is written unless the outcome is `renewed`.
   */
  renewCertificate(r: {
    cert: CertificateRecord & { renewedFrom: string };
    retireAt: number;
    since: number;
    limit: number;
  }): Promise<RenewalOutcome>;
  /**
   * Hub-wide: superseded certificates whose overlap ended at or before `now` and that are not
   * revoked yet, oldest retirement first, at most `limit` (to revoke them as `superseded`).
   */
  listRetired(now: number, limit: number): Promise<CertificateRecord[]>;
}

/** What `PkiStore.renewCertificate` did. */
export type RenewalOutcome = 'renewed' | 'rate_limited' | 'superseded' | 'revoked' | 'not_found';

/**
 * The head of the audit chain, kept apart from the rows: the last seq and hash, the first seq
 * chained with the keyed hash (rows before it predate keying: plain SHA-256; decision 0016), and
 * the MAC over all three (null until a keyed row is appended).
 */
export interface AuditHead {
  seq: number;
  hash: string;
  keyedFrom: number;
  mac: string | null;
}

/** Seals a row about to be appended: its hash, and the MAC of the head it then becomes. */
export type AuditSeal = (
  row: Omit<AuditEvent, 'hash'>,
  chain: { keyedFrom: number },
) => { hash: string; headMac: string };

export interface AuditStore {
  /**
   * Appends an event at the end of the one hub-wide chain: in one transaction, reads the head
   * (seq 0 and 64 zeros when empty), calls `seal` with the complete row and the head's
   * `keyedFrom`, inserts the row with the returned hash and moves the head (seq, hash, MAC).
   * Appends from several hub nodes are serialized.
   */
  append(draft: AuditDraft, seal: AuditSeal): Promise<AuditEvent>;
  /** One organization's events, newest first; the cursor is opaque. */
  list(orgId: string, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>>;
  /** Up to `limit` events with seq > afterSeq, in seq order (for verification). */
  scan(afterSeq: number, limit: number): Promise<AuditEvent[]>;
  /** The recorded head of the chain (kept apart from the rows), or undefined when empty. */
  head(): Promise<AuditHead | undefined>;
}

/** Small hub-wide key/value state (setup token, signing-key ids). */
export interface SystemStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  /** Sets `key` to `next` (or deletes it when undefined) only if it currently equals `expected`. */
  compareAndSet(
    key: string,
    expected: string | undefined,
    next: string | undefined,
  ): Promise<boolean>;
}

/**
 * What a committed write survives (decision 0019). `normal`: a crash of the hub process, not a power
 * cut or OS crash (SQLite WAL `synchronous=NORMAL`; PostgreSQL `synchronous_commit=off`, which
 * also loses the last moments on a database-server crash). `full`: both (SQLite `FULL`;
 * PostgreSQL `synchronous_commit=on`).
 */
export type Durability = 'normal' | 'full';

/** All of the hub's state. */
export interface Storage {
  readonly organizations: OrganizationStore;
  readonly users: UserStore;
  readonly memberships: MembershipStore;
  readonly sessions: SessionStore;
  readonly apiKeys: ApiKeyStore;
  readonly devices: DeviceStore;
  readonly deviceKeys: DeviceKeyStore;
  readonly locations: LocationStore;
  readonly pki: PkiStore;
  readonly audit: AuditStore;
  readonly system: SystemStore;
  readonly channels: ChannelStore;
  readonly messages: MessageStore;
  /** Access tickets issued for devices' local management ports. */
  readonly tickets: TicketStore;
  /** The firmware repository: trusted roots and artifacts (images live in the BlobStore). */
  readonly firmware: FirmwareStore;
  /** Device management: twins, the durable command queue, presence, events and alerts. */
  readonly twins: TwinStore;
  readonly commands: CommandStore;
  readonly presence: PresenceStore;
  readonly deviceEvents: DeviceEventStore;
  readonly alerts: AlertStore;
  /** Central device logs (decision 0032). */
  readonly deviceLogs: DeviceLogStore;
  /** Notification endpoints, routing rules and the delivery queue (decision 0030). */
  readonly notifications: NotificationStore;
  /** Mitigation policies and the log of mitigation actions (decision 0036). */
  readonly mitigations: MitigationStore;
  /** Firmware update jobs: one artifact on one device (decision 0008). */
  readonly updateJobs: UpdateJobStore;
  /** Rollouts of firmware artifacts to many devices (decision 0011). */
  readonly rollouts: RolloutStore;
  /** The auto-upgrade policy: the current artifact per device type. */
  readonly firmwarePolicies: FirmwarePolicyStore;
  /** The durability commits have, as read back from the database after it was set. */
  readonly durability: Durability;
  /** The MQTT engine's retained messages and persistent sessions (decision 0020). */
  readonly mqttState: MqttStateStore;
  /** Provisioning claims, provisioned hardware ids and bulk imports (decision 0027). */
  readonly provisioning: ProvisioningStore;
  /** Fleet audit checks: findings, suppressions, firmware advisories, run leases (0031). */
  readonly checks: AuditCheckStore;
  /** Rules on telemetry (decision 0035). */
  readonly rules: RuleStore;
  /** Detection rule settings and per-device baselines (decision 0034). */
  readonly detect: DetectStore;
  /** Saved fleet views: named filters per user (decision 0038 amendment). */
  readonly savedViews: SavedViewStore;
  /** Devices' health metrics over time (migration 27, decision 0038 amendment). */
  readonly metricsHistory: MetricsHistoryStore;
  /** The schema version the database is at after migrations. */
  readonly schemaVersion: number;
  /** Is the database reachable right now (for /readyz)? */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
