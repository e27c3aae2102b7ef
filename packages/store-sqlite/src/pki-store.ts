import type { Database } from 'better-sqlite3';
import type { CertificateRecord, PkiStore, RenewalOutcome } from '@bulwark/core';
import {
  CERT_COLUMNS,
  CERTS_NEWEST_FIRST,
  toCa,
  certValues,
  toCert,
  toToken,
  type CaRow,
  type CertRow,
  type TokenRow,
} from '@bulwark/store-sql';

/** The ca, certificates, enrollment_tokens and crl_numbers tables behind the PkiStore port. */
export function createPkiStore(db: Database): PkiStore {
  const insertCert = (c: CertificateRecord): void => {
    db.prepare(
      `INSERT INTO certificates (${CERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...certValues(c));
  };
  // BEGIN IMMEDIATE holds the database's write lock from the first read, so the count, the
  // compare-and-set on the old certificate and the insert see no other renewal in between.
  const renew = db.transaction(
    (
      cert: CertificateRecord & { renewedFrom: string },
      retireAt: number,
      since: number,
      limit: number,
    ): RenewalOutcome => {
      const { n } = db
        .prepare(
          `SELECT count(*) AS n FROM certificates WHERE org_id = ? AND device_id = ?
           AND renewed_from IS NOT NULL AND created_at > ?`,
        )
        .get(cert.orgId, cert.deviceId, since) as { n: number };
      if (n >= limit) return 'rate_limited';
      const changed = db
        .prepare(
          `UPDATE certificates SET superseded_by = ?, retire_at = ?
           WHERE org_id = ? AND serial = ? AND device_id = ?
           AND superseded_by IS NULL AND revoked_at IS NULL`,
        )
        .run(cert.serial, retireAt, cert.orgId, cert.renewedFrom, cert.deviceId).changes;
      if (changed === 0) {
        const prev = db
          .prepare('SELECT * FROM certificates WHERE org_id = ? AND serial = ? AND device_id = ?')
          .get(cert.orgId, cert.renewedFrom, cert.deviceId) as CertRow | undefined;
        return !prev ? 'not_found' : prev.revoked_at !== null ? 'revoked' : 'superseded';
      }
      insertCert(cert);
      return 'renewed';
    },
  );
  // The conditional UPDATE decides which of two racing enrollments wins; the token must also
  // belong to the certificate's organization, so a token can never place a cert in another tenant.
  const complete = db.transaction(
    (tokenId: string, usedAt: number, cert: CertificateRecord): boolean => {
      const changed = db
        .prepare(
          `UPDATE enrollment_tokens SET used_at = ?
           WHERE id = ? AND org_id = ? AND used_at IS NULL`,
        )
        .run(usedAt, tokenId, cert.orgId).changes;
      if (changed === 0) return false;
      insertCert(cert);
      return true;
    },
  );
  return {
    async getCa(scope, role) {
      const row = db.prepare('SELECT * FROM ca WHERE scope = ? AND role = ?').get(scope, role) as
        CaRow | undefined;
      return row && toCa(row);
    },
    async putCaIfAbsent(ca) {
      return (
        db
          .prepare(
            `INSERT INTO ca (scope, role, cert_pem, key_sealed, serial, not_after, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, role) DO NOTHING`,
          )
          .run(ca.scope, ca.role, ca.certPem, ca.keySealed, ca.serial, ca.notAfter, ca.createdAt)
          .changes > 0
      );
    },
    async createEnrollmentToken(t) {
      db.prepare(
        `INSERT INTO enrollment_tokens (id, org_id, device_id, token_hash, created_by, created_at,
           expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        t.id,
        t.orgId,
        t.deviceId,
        t.tokenHash,
        t.createdBy,
        t.createdAt,
        t.expiresAt,
        t.usedAt,
      );
    },
    async getEnrollmentTokenByHash(tokenHash) {
      const row = db
        .prepare('SELECT * FROM enrollment_tokens WHERE token_hash = ?')
        .get(tokenHash) as TokenRow | undefined;
      return row && toToken(row);
    },
    async completeEnrollment(tokenId, usedAt, cert) {
      return complete.immediate(tokenId, usedAt, cert);
    },
    async insertCertificate(cert) {
      insertCert(cert);
    },
    async getCertificate(orgId, serial) {
      const row = db
        .prepare('SELECT * FROM certificates WHERE org_id = ? AND serial = ?')
        .get(orgId, serial) as CertRow | undefined;
      return row && toCert(row);
    },
    async listCertificates(orgId, deviceId) {
      const rows = db
        .prepare(
          `SELECT * FROM certificates WHERE org_id = ? AND device_id = ? ${CERTS_NEWEST_FIRST}`,
        )
        .all(orgId, deviceId) as CertRow[];
      return rows.map(toCert);
    },
    async findLiveBySpki(orgId, spkiSha256, now) {
      const rows = db
        .prepare(
          `SELECT * FROM certificates WHERE org_id = ? AND spki_sha256 = ?
           AND revoked_at IS NULL AND not_after > ? ${CERTS_NEWEST_FIRST}`,
        )
        .all(orgId, spkiSha256, now) as CertRow[];
      return rows.map(toCert);
    },
    async revokeCertificate(orgId, serial, at, reason) {
      return (
        db
          .prepare(
            `UPDATE certificates SET revoked_at = ?, revocation_reason = ?
             WHERE org_id = ? AND serial = ? AND revoked_at IS NULL`,
          )
          .run(at, reason, orgId, serial).changes > 0
      );
    },
    async listRevoked(orgId) {
      const rows = db
        .prepare(
          `SELECT * FROM certificates WHERE org_id = ? AND revoked_at IS NOT NULL
           ORDER BY revoked_at, serial`,
        )
        .all(orgId) as CertRow[];
      return rows.map(toCert);
    },
    async listRevokedSince(since, limit) {
      const rows = db
        .prepare(
          `SELECT * FROM certificates WHERE revoked_at IS NOT NULL AND revoked_at > ?
           ORDER BY revoked_at, serial LIMIT ?`,
        )
        .all(since, limit) as CertRow[];
      return rows.map(toCert);
    },
    async renewCertificate({ cert, retireAt, since, limit }) {
      return renew.immediate(cert, retireAt, since, limit);
    },
    async listRetired(now, limit) {
      const rows = db
        .prepare(
          `SELECT * FROM certificates WHERE retire_at IS NOT NULL AND revoked_at IS NULL
           AND retire_at <= ? ORDER BY retire_at, serial LIMIT ?`,
        )
        .all(now, limit) as CertRow[];
      return rows.map(toCert);
    },
    async nextCrlNumber(orgId) {
      const row = db
        .prepare(
          `INSERT INTO crl_numbers (org_id, last) VALUES (?, 1)
           ON CONFLICT (org_id) DO UPDATE SET last = last + 1 RETURNING last`,
        )
        .get(orgId) as { last: number };
      return row.last;
    },
  };
}
