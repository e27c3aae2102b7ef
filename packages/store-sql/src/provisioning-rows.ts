/**
 * The provisioning tables (migration 13, decision 0027): claims and the hardware ids they
 * provisioned — DDL for both dialects, row shapes and row → record mapping. A hardware id is
 * unique per organization (it provisions once); the claim's template and allowlist are JSON.
 */
import type { Device, ProvisionedHardware, ProvisioningClaim } from '@bulwark/core';

/** The migration-13 tables. `int` is BIGINT on PostgreSQL and INTEGER on SQLite. */
export function provisioningSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE provisioning_claims (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  template_json text NOT NULL,
  max_devices ${int} NOT NULL,
  used_count ${int} NOT NULL,
  hardware_ids_json text,
  hardware_pattern text,
  expires_at ${int} NOT NULL,
  revoked_at ${int},
  created_by text,
  created_at ${int} NOT NULL
);
CREATE INDEX provisioning_claims_org ON provisioning_claims (org_id, id);
CREATE TABLE provisioned_hardware (
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  hardware_id ${idText} NOT NULL,
  claim_id ${idText} NOT NULL REFERENCES provisioning_claims (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  spki_sha256 text NOT NULL,
  serial text NOT NULL,
  created_at ${int} NOT NULL,
  PRIMARY KEY (org_id, hardware_id)
);
`;
}

/** A row of `provisioning_claims` (integers may come back as strings from pg's BIGINT). */
export interface ClaimRow {
  id: string;
  org_id: string;
  name: string;
  token_hash: string;
  template_json: string;
  max_devices: number | string;
  used_count: number | string;
  hardware_ids_json: string | null;
  hardware_pattern: string | null;
  expires_at: number | string;
  revoked_at: number | string | null;
  created_by: string | null;
  created_at: number | string;
}

/** A `provisioning_claims` row as its record. */
export const toClaim = (r: ClaimRow): ProvisioningClaim => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  tokenHash: r.token_hash,
  template: JSON.parse(r.template_json) as ProvisioningClaim['template'],
  maxDevices: Number(r.max_devices),
  usedCount: Number(r.used_count),
  hardwareIds: r.hardware_ids_json === null ? null : (JSON.parse(r.hardware_ids_json) as string[]),
  hardwarePattern: r.hardware_pattern,
  expiresAt: Number(r.expires_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
});

/** The column list and values of a claim insert (13 placeholders). */
export const CLAIM_COLUMNS =
  'id, org_id, name, token_hash, template_json, max_devices, used_count, hardware_ids_json, hardware_pattern, expires_at, revoked_at, created_by, created_at';
export const claimValues = (c: ProvisioningClaim): unknown[] => [
  c.id,
  c.orgId,
  c.name,
  c.tokenHash,
  JSON.stringify(c.template),
  c.maxDevices,
  c.usedCount,
  c.hardwareIds === null ? null : JSON.stringify(c.hardwareIds),
  c.hardwarePattern,
  c.expiresAt,
  c.revokedAt,
  c.createdBy,
  c.createdAt,
];

/** A row of `provisioned_hardware`. */
export interface HardwareRow {
  org_id: string;
  hardware_id: string;
  claim_id: string;
  device_id: string;
  spki_sha256: string;
  serial: string;
  created_at: number | string;
}

export const toHardware = (r: HardwareRow): ProvisionedHardware => ({
  orgId: r.org_id,
  hardwareId: r.hardware_id,
  claimId: r.claim_id,
  deviceId: r.device_id,
  spkiSha256: r.spki_sha256,
  serial: r.serial,
  createdAt: Number(r.created_at),
});

export const HARDWARE_COLUMNS =
  'org_id, hardware_id, claim_id, device_id, spki_sha256, serial, created_at';
export const hardwareValues = (h: ProvisionedHardware): unknown[] => [
  h.orgId,
  h.hardwareId,
  h.claimId,
  h.deviceId,
  h.spkiSha256,
  h.serial,
  h.createdAt,
];

/** The devices insert's columns (13); `tags` is encoded by the dialect. */
export const DEVICE_INSERT_COLUMNS =
  'id, org_id, name, type, firmware_type, firmware_version, tags, mode, state, location_id, last_seen_at, created_at, updated_at';
export const deviceValues = (d: Device, tags: unknown): unknown[] => [
  d.id,
  d.orgId,
  d.name,
  d.type,
  d.firmwareType,
  d.firmwareVersion,
  tags,
  d.mode,
  d.state,
  d.locationId,
  d.lastSeenAt,
  d.createdAt,
  d.updatedAt,
];

/** The enrollment_tokens insert's columns (8). */
export const TOKEN_INSERT_COLUMNS =
  'id, org_id, device_id, token_hash, created_by, created_at, expires_at, used_at';
