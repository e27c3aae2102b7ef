import type { Pool } from 'pg';
import type { DeviceKeyStore } from '@bulwark/core';
import { toDeviceKey, type DeviceKeyRow } from '@bulwark/store-sql';
import { query } from './db.js';

/** The device_keys table behind the DeviceKeyStore port. */
export function createDeviceKeyStore(pool: Pool): DeviceKeyStore {
  return {
    async create(k) {
      await query(
        pool,
        `INSERT INTO device_keys (id, org_id, device_id, secret_hash, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [k.id, k.orgId, k.deviceId, k.secretHash, k.createdAt, k.revokedAt],
      );
    },
    async listForDevice(orgId, deviceId) {
      const r = await query<DeviceKeyRow>(
        pool,
        'SELECT * FROM device_keys WHERE org_id = $1 AND device_id = $2 ORDER BY id',
        [orgId, deviceId],
      );
      return r.rows.map(toDeviceKey);
    },
    async listLiveByDeviceId(deviceId) {
      const r = await query<DeviceKeyRow>(
        pool,
        'SELECT * FROM device_keys WHERE device_id = $1 AND revoked_at IS NULL ORDER BY id',
        [deviceId],
      );
      return r.rows.map(toDeviceKey);
    },
    async listRevokedSince(since, limit) {
      const r = await query<DeviceKeyRow>(
        pool,
        `SELECT * FROM device_keys WHERE revoked_at IS NOT NULL AND revoked_at > $1
         ORDER BY revoked_at, id LIMIT $2`,
        [since, limit],
      );
      return r.rows.map(toDeviceKey);
    },
    async revoke(orgId, id, at) {
      const r = await query(
        pool,
        `UPDATE device_keys SET revoked_at = $1
         WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL`,
        [at, orgId, id],
      );
      return r.rowCount > 0;
    },
  };
}
