import type { Database } from 'better-sqlite3';
import type { DeviceKeyStore } from '@bulwark/core';
import { toDeviceKey, type DeviceKeyRow } from '@bulwark/store-sql';

/** The device_keys table behind the DeviceKeyStore port. */
export function createDeviceKeyStore(db: Database): DeviceKeyStore {
  return {
    async create(k) {
      db.prepare(
        `INSERT INTO device_keys (id, org_id, device_id, secret_hash, created_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(k.id, k.orgId, k.deviceId, k.secretHash, k.createdAt, k.revokedAt);
    },
    async listForDevice(orgId, deviceId) {
      const rows = db
        .prepare('SELECT * FROM device_keys WHERE org_id = ? AND device_id = ? ORDER BY id')
        .all(orgId, deviceId) as DeviceKeyRow[];
      return rows.map(toDeviceKey);
    },
    async listLiveByDeviceId(deviceId) {
      const rows = db
        .prepare('SELECT * FROM device_keys WHERE device_id = ? AND revoked_at IS NULL ORDER BY id')
        .all(deviceId) as DeviceKeyRow[];
      return rows.map(toDeviceKey);
    },
    async listRevokedSince(since, limit) {
      const rows = db
        .prepare(
          `SELECT * FROM device_keys WHERE revoked_at IS NOT NULL AND revoked_at > ?
           ORDER BY revoked_at, id LIMIT ?`,
        )
        .all(since, limit) as DeviceKeyRow[];
      return rows.map(toDeviceKey);
    },
    async revoke(orgId, id, at) {
      return (
        db
          .prepare(
            'UPDATE device_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL',
          )
          .run(at, orgId, id).changes > 0
      );
    },
  };
}
