import type { Pool } from 'pg';
import { BulwarkError } from '@bulwark/protocol';
import type { ClaimOutcome, Device, ProvisioningStore } from '@bulwark/core';
import {
  CERT_COLUMNS,
  CLAIM_COLUMNS,
  DEVICE_INSERT_COLUMNS,
  HARDWARE_COLUMNS,
  TOKEN_INSERT_COLUMNS,
  certValues,
  claimValues,
  deviceValues,
  hardwareValues,
  toClaim,
  toHardware,
  type ClaimRow,
  type HardwareRow,
} from '@bulwark/store-sql';
import { query, transaction } from './db.js';

/** `($1, …, $n)` groups for `rows` rows of `width` values. */
function groups(rows: number, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++)
    out.push(`(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`);
  return out.join(', ');
}

/** Rows per multi-row INSERT: 100 devices are 1,300 parameters (pg allows 65,535). */
const CHUNK = 100;

/** The provisioning tables (migration 13) on a pg Pool. */
export function createPostgresProvisioningStore(pool: Pool): ProvisioningStore {
  const deviceRow = (d: Device) => deviceValues(d, d.tags);
  return {
    async createClaim(c) {
      await query(
        pool,
        `INSERT INTO provisioning_claims (${CLAIM_COLUMNS}) VALUES ${groups(1, 13)}`,
        claimValues(c),
      );
    },
    async get(orgId, id) {
      const r = await query<ClaimRow>(
        pool,
        'SELECT * FROM provisioning_claims WHERE org_id = $1 AND id = $2',
        [orgId, id],
      );
      return r.rows[0] && toClaim(r.rows[0]);
    },
    async getByTokenHash(tokenHash) {
      const r = await query<ClaimRow>(
        pool,
        'SELECT * FROM provisioning_claims WHERE token_hash = $1',
        [tokenHash],
      );
      return r.rows[0] && toClaim(r.rows[0]);
    },
    async list(orgId) {
      const r = await query<ClaimRow>(
        pool,
        'SELECT * FROM provisioning_claims WHERE org_id = $1 ORDER BY id DESC',
        [orgId],
      );
      return r.rows.map(toClaim);
    },
    async revoke(orgId, id, at) {
      const r = await query(
        pool,
        `UPDATE provisioning_claims SET revoked_at = $1
         WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL`,
        [at, orgId, id],
      );
      return r.rowCount > 0;
    },
    async getHardware(orgId, hardwareId) {
      const r = await query<HardwareRow>(
        pool,
        'SELECT * FROM provisioned_hardware WHERE org_id = $1 AND hardware_id = $2',
        [orgId, hardwareId],
      );
      return r.rows[0] && toHardware(r.rows[0]);
    },
    async claimDevice({ device, cert, hardware: h }) {
      return transaction(pool, async (c): Promise<ClaimOutcome> => {
        // The claim's row lock serializes claims with one token across hub nodes: the count and
        // the hardware id are read after any racing claim committed.
        const r = await query<ClaimRow>(
          c,
          'SELECT * FROM provisioning_claims WHERE id = $1 AND org_id = $2 FOR UPDATE',
          [h.claimId, h.orgId],
        );
        const row = r.rows[0];
        if (!row || row.revoked_at !== null) return 'revoked';
        const claim = toClaim(row);
        if (claim.expiresAt <= h.createdAt) return 'expired';
        if (claim.usedCount >= claim.maxDevices) return 'exhausted';
        const taken = await query(
          c,
          'SELECT 1 FROM provisioned_hardware WHERE org_id = $1 AND hardware_id = $2',
          [h.orgId, h.hardwareId],
        );
        if (taken.rowCount > 0) return 'hardware_taken';
        await query(
          c,
          `INSERT INTO devices (${DEVICE_INSERT_COLUMNS}) VALUES ${groups(1, 13)}`,
          deviceRow(device),
        );
        await query(
          c,
          `INSERT INTO certificates (${CERT_COLUMNS}) VALUES ${groups(1, 14)}`,
          certValues(cert),
        );
        await query(
          c,
          `INSERT INTO provisioned_hardware (${HARDWARE_COLUMNS}) VALUES ${groups(1, 7)}`,
          hardwareValues(h),
        );
        await query(c, 'UPDATE provisioning_claims SET used_count = used_count + 1 WHERE id = $1', [
          h.claimId,
        ]);
        return 'created';
      });
    },
    async existingDeviceNames(orgId, names) {
      const r = await query<{ name: string }>(
        pool,
        'SELECT name FROM devices WHERE org_id = $1 AND name = ANY($2::text[])',
        [orgId, names],
      );
      return r.rows.map((x) => x.name);
    },
    async existingDeviceTypes(orgId, types) {
      const r = await query<{ type: string }>(
        pool,
        'SELECT DISTINCT type FROM devices WHERE org_id = $1 AND type = ANY($2::text[])',
        [orgId, types],
      );
      return r.rows.map((x) => x.type);
    },
    async importDevices(devices, tokens) {
      try {
        await transaction(pool, async (c) => {
          for (let i = 0; i < devices.length; i += CHUNK) {
            const chunk = devices.slice(i, i + CHUNK);
            await query(
              c,
              `INSERT INTO devices (${DEVICE_INSERT_COLUMNS}) VALUES ${groups(chunk.length, 13)}`,
              chunk.flatMap(deviceRow),
            );
          }
          for (let i = 0; i < tokens.length; i += CHUNK) {
            const chunk = tokens.slice(i, i + CHUNK);
            await query(
              c,
              `INSERT INTO enrollment_tokens (${TOKEN_INSERT_COLUMNS}) VALUES ${groups(chunk.length, 8)}`,
              chunk.flatMap((t) => [
                t.id,
                t.orgId,
                t.deviceId,
                t.tokenHash,
                t.createdBy,
                t.createdAt,
                t.expiresAt,
                t.usedAt,
              ]),
            );
          }
        });
      } catch (err) {
        if (err instanceof BulwarkError && err.code === 'device_name_taken')
          throw new BulwarkError(
            'device_name_taken',
            'a device name of the import was taken meanwhile; nothing was written',
            { cause: err },
          );
        throw err;
      }
    },
  };
}
