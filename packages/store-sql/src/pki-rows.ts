import type { CaRecord, CaRole, CertificateRecord, EnrollmentToken } from '@bulwark/core';

/** A row of `ca`. */
export interface CaRow {
  scope: string;
  role: string;
  cert_pem: string;
  key_sealed: string;
  serial: string;
  not_after: number;
  created_at: number;
}

/** A `ca` row as its record. */
export const toCa = (r: CaRow): CaRecord => ({
  scope: r.scope,
  role: r.role as CaRole,
  certPem: r.cert_pem,
  keySealed: r.key_sealed,
  serial: r.serial,
  notAfter: r.not_after,
  createdAt: r.created_at,
});

/** A row of `certificates`. */
export interface CertRow {
  serial: string;
  org_id: string;
  device_id: string;
  cert_pem: string;
  fingerprint: string;
  spki_sha256: string;
  not_before: number;
  not_after: number;
  created_at: number;
  revoked_at: number | null;
  revocation_reason: string | null;
  renewed_from: string | null;
  superseded_by: string | null;
  retire_at: number | null;
}

/** A `certificates` row as its record. */
export const toCert = (r: CertRow): CertificateRecord => ({
  serial: r.serial,
  orgId: r.org_id,
  deviceId: r.device_id,
  certPem: r.cert_pem,
  fingerprint: r.fingerprint,
  spkiSha256: r.spki_sha256,
  notBefore: r.not_before,
  notAfter: r.not_after,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  revocationReason: r.revocation_reason,
  renewedFrom: r.renewed_from,
  supersededBy: r.superseded_by,
  retireAt: r.retire_at,
});

/** The `certificates` columns in the order of `certValues`. */
export const CERT_COLUMNS =
  'org_id, serial, device_id, cert_pem, fingerprint, spki_sha256, not_before, not_after, ' +
  'created_at, revoked_at, revocation_reason, renewed_from, superseded_by, retire_at';

/** A certificate's `certificates` values in the column order of CERT_COLUMNS. */
export const certValues = (c: CertificateRecord): unknown[] => [
  c.orgId,
  c.serial,
  c.deviceId,
  c.certPem,
  c.fingerprint,
  c.spkiSha256,
  c.notBefore,
  c.notAfter,
  c.createdAt,
  c.revokedAt,
  c.revocationReason,
  c.renewedFrom,
  c.supersededBy,
  c.retireAt,
];

/** Certificates newest first; serial breaks ties so the order is stable. */
export const CERTS_NEWEST_FIRST = 'ORDER BY created_at DESC, serial DESC';

/** A row of `enrollment_tokens`. */
export interface TokenRow {
  id: string;
  org_id: string;
  device_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** An `enrollment_tokens` row as its record. */
export const toToken = (r: TokenRow): EnrollmentToken => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  tokenHash: r.token_hash,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
});
