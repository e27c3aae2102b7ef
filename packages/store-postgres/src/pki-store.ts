import type { Pool } from 'pg';
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
import { query, transaction, type Queryable } from './db.js';

const insertCert = async (db: Queryable, c: CertificateRecord): Promise<void> => {
  await query(
    db,
    `INSERT INTO certificates (${CERT_COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    certValues(c),
  );
};

/** The ca, certificates, enrollment_tokens and crl_numbers tables behind the PkiStore port. */
export function createPkiStore(pool: Pool): PkiStore {
  return {
    async getCa(scope, role) {
      const r = await query<CaRow>(pool, 'SELECT * FROM ca WHERE scope = $1 AND role = $2', [
        scope,
        role,
      ]);
      return r.rows[0] && toCa(r.rows[0]);
    },
    async putCaIfAbsent(ca) {
      const r = await query(
        pool,
        `INSERT INTO ca (scope, role, cert_pem, key_sealed, serial, not_after, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, role) DO NOTHING`,
        [ca.scope, ca.role, ca.certPem, ca.keySealed, ca.serial, ca.notAfter, ca.createdAt],
      );
      return r.rowCount > 0;
    },
    async createEnrollmentToken(t) {
      await query(
        pool,
        `INSERT INTO enrollment_tokens (id, org_id, device_id, token_hash, created_by, created_at,
           expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [t.id, t.orgId, t.deviceId, t.tokenHash, t.createdBy, t.createdAt, t.expiresAt, t.usedAt],
      );
    },
    async getEnrollmentTokenByHash(tokenHash) {
      const r = await query<TokenRow>(
        pool,
        'SELECT * FROM enrollment_tokens WHERE token_hash = $1',
        [tokenHash],
      );
      return r.rows[0] && toToken(r.rows[0]);
    },
    async completeEnrollment(tokenId, usedAt, cert) {
      return transaction(pool, async (c) => {
        // A racing enrollment blocks on the token's row lock, then sees used_at set and loses.
        // The token must belong to the certificate's organization: no cross-tenant placement.
        const r = await query(
          c,
          `UPDATE enrollment_tokens SET used_at = $1
           WHERE id = $2 AND org_id = $3 AND used_at IS NULL`,
          [usedAt, tokenId, cert.orgId],
        );
        if (r.rowCount === 0) return false;
        await insertCert(c, cert);
        return true;
      });
    },
    async insertCertificate(cert) {
      await insertCert(pool, cert);
    },
    async getCertificate(orgId, serial) {
      const r = await query<CertRow>(
        pool,
        'SELECT * FROM certificates WHERE org_id = $1 AND serial = $2',
        [orgId, serial],
      );
      return r.rows[0] && toCert(r.rows[0]);
    },
    async listCertificates(orgId, deviceId) {
      const r = await query<CertRow>(
        pool,
        `SELECT * FROM certificates WHERE org_id = $1 AND device_id = $2 ${CERTS_NEWEST_FIRST}`,
        [orgId, deviceId],
      );
      return r.rows.map(toCert);
    },
    async findLiveBySpki(orgId, spkiSha256, now) {
      const r = await query<CertRow>(
        pool,
        `SELECT * FROM certificates WHERE org_id = $1 AND spki_sha256 = $2
         AND revoked_at IS NULL AND not_after > $3 ${CERTS_NEWEST_FIRST}`,
        [orgId, spkiSha256, now],
      );
      return r.rows.map(toCert);
    },
    async revokeCertificate(orgId, serial, at, reason) {
      const r = await query(
        pool,
        `UPDATE certificates SET revoked_at = $1, revocation_reason = $2
         WHERE org_id = $3 AND serial = $4 AND revoked_at IS NULL`,
        [at, reason, orgId, serial],
      );
      return r.rowCount > 0;
    },
    async listRevoked(orgId) {
      const r = await query<CertRow>(
        pool,
        `SELECT * FROM certificates WHERE org_id = $1 AND revoked_at IS NOT NULL
         ORDER BY revoked_at, serial`,
        [orgId],
      );
      return r.rows.map(toCert);
    },
    async listRevokedSince(since, limit) {
      const r = await query<CertRow>(
        pool,
        `SELECT * FROM certificates WHERE revoked_at IS NOT NULL AND revoked_at > $1
         ORDER BY revoked_at, serial LIMIT $2`,
        [since, limit],
      );
      return r.rows.map(toCert);
    },
    async renewCertificate({ cert, retireAt, since, limit }) {
      return transaction(pool, async (c): Promise<RenewalOutcome> => {
        // The device's row lock serializes its renewals on every node, so two racing renewals
        // cannot both pass the count; the conditional UPDATE makes a certificate renew once.
        await query(c, 'SELECT 1 FROM devices WHERE org_id = $1 AND id = $2 FOR UPDATE', [
          cert.orgId,
          cert.deviceId,
        ]);
        const r = await query<{ n: string }>(
          c,
          `SELECT count(*) AS n FROM certificates WHERE org_id = $1 AND device_id = $2
           AND renewed_from IS NOT NULL AND created_at > $3`,
          [cert.orgId, cert.deviceId, since],
        );
        if (Number(r.rows[0]?.n ?? 0) >= limit) return 'rate_limited';
        const u = await query(
          c,
          `UPDATE certificates SET superseded_by = $1, retire_at = $2
           WHERE org_id = $3 AND serial = $4 AND device_id = $5
           AND superseded_by IS NULL AND revoked_at IS NULL`,
          [cert.serial, retireAt, cert.orgId, cert.renewedFrom, cert.deviceId],
        );
        if (u.rowCount === 0) {
          const prev = await query<CertRow>(
            c,
            'SELECT * FROM certificates WHERE org_id = $1 AND serial = $2 AND device_id = $3',
            [cert.orgId, cert.renewedFrom, cert.deviceId],
          );
          const row = prev.rows[0];
          return !row ? 'not_found' : row.revoked_at !== null ? 'revoked' : 'superseded';
        }
        await insertCert(c, cert);
        return 'renewed';
      });
    },
    async listRetired(now, limit) {
      const r = await query<CertRow>(
        pool,
        `SELECT * FROM certificates WHERE retire_at IS NOT NULL AND revoked_at IS NULL
         AND retire_at <= $1 ORDER BY retire_at, serial LIMIT $2`,
        [now, limit],
      );
      return r.rows.map(toCert);
    },
    async nextCrlNumber(orgId) {
      // One upsert: the row lock makes concurrent callers on any node take turns.
      const r = await query<{ last: number }>(
        pool,
        `INSERT INTO crl_numbers (org_id, last) VALUES ($1, 1)
         ON CONFLICT (org_id) DO UPDATE SET last = crl_numbers.last + 1 RETURNING last`,
        [orgId],
      );
      const row = r.rows[0];
      if (row === undefined) throw new Error('crl_numbers upsert returned no row');
      return row.last;
    },
  };
}
