import type { Pool } from 'pg';
import type { FirmwareStore } from '@bulwark/core';
import {
  ARTIFACT_COLUMNS,
  artifactValues,
  toArtifact,
  toFirmwareRoot,
  type ArtifactRow,
  type FirmwareRootRow,
} from '@bulwark/store-sql';
import { query, transaction } from './db.js';

const INSERT_ARTIFACT = `INSERT INTO firmware_artifacts (${ARTIFACT_COLUMNS})
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`;

/** The firmware_roots and firmware_artifacts tables behind the FirmwareStore port. */
export function createFirmwareStore(pool: Pool): FirmwareStore {
  return {
    async getRoot(orgId) {
      const r = await query<FirmwareRootRow>(
        pool,
        'SELECT * FROM firmware_roots WHERE org_id = $1',
        [orgId],
      );
      const row = r.rows[0];
      return row && toFirmwareRoot(row);
    },
    async putRoot(root, expectedVersion) {
      const values = [root.version, root.root, root.updatedBy, root.updatedAt];
      const r =
        expectedVersion === null
          ? await query(
              pool,
              `INSERT INTO firmware_roots (org_id, version, root_json, updated_by, updated_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id) DO NOTHING`,
              [root.orgId, ...values],
            )
          : await query(
              pool,
              `UPDATE firmware_roots SET version = $1, root_json = $2, updated_by = $3,
                 updated_at = $4
               WHERE org_id = $5 AND version = $6`,
              [...values, root.orgId, expectedVersion],
            );
      return r.rowCount > 0;
    },
    async createArtifact(a) {
      await query(pool, INSERT_ARTIFACT, artifactValues(a));
    },
    replacePendingArtifact(a) {
      return transaction(pool, async (client) => {
        const gone = await client.query(
          `DELETE FROM firmware_artifacts
           WHERE org_id = $1 AND sha256 = $2 AND state = 'pending' AND blob_key IS NULL`,
          [a.orgId, a.sha256],
        );
        if ((gone.rowCount ?? 0) === 0) return false;
        await client.query(INSERT_ARTIFACT, artifactValues(a));
        return true;
      });
    },
    async getArtifact(orgId, id) {
      const r = await query<ArtifactRow>(
        pool,
        'SELECT * FROM firmware_artifacts WHERE org_id = $1 AND id = $2',
        [orgId, id],
      );
      const row = r.rows[0];
      return row && toArtifact(row);
    },
    async listArtifacts(orgId, opts) {
      const r =
        opts.before === undefined
          ? await query<ArtifactRow>(
              pool,
              'SELECT * FROM firmware_artifacts WHERE org_id = $1 ORDER BY id DESC LIMIT $2',
              [orgId, opts.limit],
            )
          : await query<ArtifactRow>(
              pool,
              `SELECT * FROM firmware_artifacts WHERE org_id = $1 AND id < $2
               ORDER BY id DESC LIMIT $3`,
              [orgId, opts.before, opts.limit],
            );
      return r.rows.map(toArtifact);
    },
    async markReady(orgId, id, blobKey) {
      const r = await query(
        pool,
        `UPDATE firmware_artifacts SET state = 'ready', blob_key = $1
         WHERE org_id = $2 AND id = $3 AND state = 'pending'`,
        [blobKey, orgId, id],
      );
      return r.rowCount > 0;
    },
    async deleteArtifact(orgId, id) {
      const r = await query(pool, 'DELETE FROM firmware_artifacts WHERE org_id = $1 AND id = $2', [
        orgId,
        id,
      ]);
      return r.rowCount > 0;
    },
    async blobInUse(blobKey) {
      const r = await query(pool, 'SELECT 1 FROM firmware_artifacts WHERE blob_key = $1 LIMIT 1', [
        blobKey,
      ]);
      return r.rows.length > 0;
    },
  };
}
