import type { Database } from 'better-sqlite3';
import { BulwarkError } from '@bulwark/protocol';
import type {
  CertificateRecord,
  ClaimOutcome,
  Device,
  EnrollmentToken,
  ProvisionedHardware,
  ProvisioningStore,
} from '@bulwark/core';
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
import { mapUnique } from './errors.js';

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** The provisioning tables (migration 13) behind the ProvisioningStore port. */
export function createProvisioningStore(db: Database): ProvisioningStore {
  const insertDevice = db.prepare(
    `INSERT INTO devices (${DEVICE_INSERT_COLUMNS}) VALUES (${marks(13)})`,
  );
  const insertToken = db.prepare(
    `INSERT INTO enrollment_tokens (${TOKEN_INSERT_COLUMNS}) VALUES (${marks(8)})`,
  );
  const device = (d: Device) => insertDevice.run(...deviceValues(d, JSON.stringify(d.tags)));
  const token = (t: EnrollmentToken) =>
    insertToken.run(
      t.id,
      t.orgId,
      t.deviceId,
      t.tokenHash,
      t.createdBy,
      t.createdAt,
      t.expiresAt,
      t.usedAt,
    );
  // BEGIN IMMEDIATE holds the write lock from the first read: the claim's count, the hardware
  // id and the inserts see no other claim in between.
  const claim = db.transaction(
    (d: Device, cert: CertificateRecord, h: ProvisionedHardware): ClaimOutcome => {
      const row = db
        .prepare('SELECT * FROM provisioning_claims WHERE id = ? AND org_id = ?')
        .get(h.claimId, h.orgId) as ClaimRow | undefined;
      if (!row || row.revoked_at !== null) return 'revoked';
      const c = toClaim(row);
      if (c.expiresAt <= h.createdAt) return 'expired';
      if (c.usedCount >= c.maxDevices) return 'exhausted';
      const taken = db
        .prepare('SELECT 1 FROM provisioned_hardware WHERE org_id = ? AND hardware_id = ?')
        .get(h.orgId, h.hardwareId);
      if (taken) return 'hardware_taken';
      device(d);
      db.prepare(`INSERT INTO certificates (${CERT_COLUMNS}) VALUES (${marks(14)})`).run(
        ...certValues(cert),
      );
      db.prepare(`INSERT INTO provisioned_hardware (${HARDWARE_COLUMNS}) VALUES (${marks(7)})`).run(
        ...hardwareValues(h),
      );
      db.prepare('UPDATE provisioning_claims SET used_count = used_count + 1 WHERE id = ?').run(
        h.claimId,
      );
      return 'created';
    },
  );
  const importAll = db.transaction(
    (devices: readonly Device[], tokens: readonly EnrollmentToken[]) => {
      for (const d of devices) device(d);
      for (const t of tokens) token(t);
    },
  );
  return {
    async createClaim(c) {
      db.prepare(`INSERT INTO provisioning_claims (${CLAIM_COLUMNS}) VALUES (${marks(13)})`).run(
        ...claimValues(c),
      );
    },
    async get(orgId, id) {
      const row = db
        .prepare('SELECT * FROM provisioning_claims WHERE org_id = ? AND id = ?')
        .get(orgId, id) as ClaimRow | undefined;
      return row && toClaim(row);
    },
    async getByTokenHash(tokenHash) {
      const row = db
        .prepare('SELECT * FROM provisioning_claims WHERE token_hash = ?')
        .get(tokenHash) as ClaimRow | undefined;
      return row && toClaim(row);
    },
    async list(orgId) {
      const rows = db
        .prepare('SELECT * FROM provisioning_claims WHERE org_id = ? ORDER BY id DESC')
        .all(orgId) as ClaimRow[];
      return rows.map(toClaim);
    },
    async revoke(orgId, id, at) {
      return (
        db
          .prepare(
            'UPDATE provisioning_claims SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL',
          )
          .run(at, orgId, id).changes > 0
      );
    },
    async getHardware(orgId, hardwareId) {
      const row = db
        .prepare('SELECT * FROM provisioned_hardware WHERE org_id = ? AND hardware_id = ?')
        .get(orgId, hardwareId) as HardwareRow | undefined;
      return row && toHardware(row);
    },
    async claimDevice(r) {
      return mapUnique(() => claim.immediate(r.device, r.cert, r.hardware));
    },
    async existingDeviceNames(orgId, names) {
      return inChunks(names, (chunk) =>
        (
          db
            .prepare(
              `SELECT name FROM devices WHERE org_id = ? AND name IN (${marks(chunk.length)})`,
            )
            .all(orgId, ...chunk) as { name: string }[]
        ).map((r) => r.name),
      );
    },
    async existingDeviceTypes(orgId, types) {
      return inChunks(types, (chunk) =>
        (
          db
            .prepare(
              `SELECT DISTINCT type FROM devices WHERE org_id = ? AND type IN (${marks(chunk.length)})`,
            )
            .all(orgId, ...chunk) as { type: string }[]
        ).map((r) => r.type),
      );
    },
    async importDevices(devices, tokens) {
      try {
        mapUnique(() => importAll.immediate(devices, tokens));
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

/** SQLite binds at most 32,766 parameters: look names up 500 at a time. */
function inChunks(items: readonly string[], fn: (chunk: string[]) => string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += 500) out.push(...fn(items.slice(i, i + 500)));
  return out;
}
