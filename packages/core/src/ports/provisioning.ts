/**
 * The provisioning port (decision 0027): claims (a production batch's credential, stored as a
 * hash), the hardware ids they provisioned, and the two writes that must be atomic — a bulk
 * import of devices with their enrollment tokens, and one claim turning into a device.
 */
import type { CertificateRecord, Device, EnrollmentToken } from './records.js';

/** What every device provisioned by a claim gets (the API's ClaimTemplate). */
export interface ClaimTemplateRecord {
  type: string;
  tags?: string[];
  locationId?: string | null;
  mode?: 'autonomous' | 'controlled';
  firmwareType?: string;
  namePrefix?: string;
  channels?: { channelId: string; publish: boolean; subscribe: boolean }[];
}

/** A provisioning claim: an org-scoped credential for a batch of devices, with its limits. */
export interface ProvisioningClaim {
  id: string;
  orgId: string;
  name: string;
  tokenHash: string;
  template: ClaimTemplateRecord;
  maxDevices: number;
  usedCount: number;
  /** The allowlist of hardware ids, or null for none. */
  hardwareIds: string[] | null;
  /** A glob the hardware id must match, or null. */
  hardwarePattern: string | null;
  expiresAt: number;
  revokedAt: number | null;
  createdBy: string | null;
  createdAt: number;
}

/** A hardware id that a claim provisioned, and the key it proved. */
export interface ProvisionedHardware {
  orgId: string;
  hardwareId: string;
  claimId: string;
  deviceId: string;
  /** SHA-256 of the key's SubjectPublicKeyInfo (a retry must present the same key). */
  spkiSha256: string;
  /** The certificate issued at the claim. */
  serial: string;
  createdAt: number;
}

/** What `ProvisioningStore.claimDevice` did; nothing is written unless `created`. */
export type ClaimOutcome = 'created' | 'revoked' | 'expired' | 'exhausted' | 'hardware_taken';

export interface ProvisioningStore {
  createClaim(claim: ProvisioningClaim): Promise<void>;
  get(orgId: string, id: string): Promise<ProvisioningClaim | undefined>;
  /** Unscoped: the token establishes the organization. */
  getByTokenHash(tokenHash: string): Promise<ProvisioningClaim | undefined>;
  /** Newest first. */
  list(orgId: string): Promise<ProvisioningClaim[]>;
  /** Returns false when no such claim in this organization or already revoked. */
  revoke(orgId: string, id: string, at: number): Promise<boolean>;
  getHardware(orgId: string, hardwareId: string): Promise<ProvisionedHardware | undefined>;
  /**
   * Atomically, serialized per claim across nodes: refuses when the claim is revoked, expired at
   * `hardware.createdAt` or used up, or the hardware id is provisioned already; else inserts the
   * device, its certificate and the hardware record and counts the claim used.
   * @throws BulwarkError `device_name_taken` (and writes nothing)
   */
  claimDevice(r: {
    device: Device;
    cert: CertificateRecord;
    hardware: ProvisionedHardware;
  }): Promise<ClaimOutcome>;
  /** The names among `names` that devices of the organization already have. */
  existingDeviceNames(orgId: string, names: readonly string[]): Promise<string[]>;
  /** The types among `types` that devices of the organization already have. */
  existingDeviceTypes(orgId: string, types: readonly string[]): Promise<string[]>;
  /**
   * Inserts every device and its enrollment token in one transaction.
   * @throws BulwarkError `device_name_taken` naming the device (and writes nothing)
   */
  importDevices(devices: readonly Device[], tokens: readonly EnrollmentToken[]): Promise<void>;
}
