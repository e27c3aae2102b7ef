import type { Database } from 'better-sqlite3';
import type { FirmwareArtifactRecord, FirmwareStore } from '@bulwark/core';
import {
  ARTIFACT_COLUMNS,
  artifactValues,
  toArtifact,
  toFirmwareRoot,
  type ArtifactRow,
  type FirmwareRootRow,
} from '@bulwark/store-sql';
import { mapUnique } from './errors.js';

/** The firmware_roots and firmware_artifacts tables behind the FirmwareStore port. */
export function createFirmwareStore(db: Database): FirmwareStore {
  const insertArtifact = db.prepare(
    `INSERT INTO firmware_artifacts (${ARTIFACT_COLUMNS})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const replacePending = db.transaction((a: FirmwareArtifactRecord): boolean => {
    const gone = db
      .prepare(
        `DELETE FROM firmware_artifacts
         WHERE org_id = ? AND sha256 = ? AND state = 'pending' AND blob_key IS NULL`,
      )
      .run(a.orgId, a.sha256).changes;
    if (gone === 0) return false;
    insertArtifact.run(...artifactValues(a));
    return true;
  });
  return {
    async getRoot(orgId) {
      const row = db.prepare('SELECT * FROM firmware_roots WHERE org_id = ?').get(orgId) as
        FirmwareRootRow | undefined;
      return row && toFirmwareRoot(row);
    },
    async putRoot(r, expectedVersion) {
      const values = [r.version, r.root, r.updatedBy, r.updatedAt];
      if (expectedVersion === null) {
        return (
          db
            .prepare(
              `INSERT INTO firmware_roots (org_id, version, root_json, updated_by, updated_at)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id) DO NOTHING`,
            )
            .run(r.orgId, ...values).changes > 0
        );
      }
      return (
        db
          .prepare(
            `UPDATE firmware_roots SET version = ?, root_json = ?, updated_by = ?, updated_at = ?
             WHERE org_id = ? AND version = ?`,
          )
          .run(...values, r.orgId, expectedVersion).changes > 0
      );
    },
    async createArtifact(a) {
      mapUnique(() => insertArtifact.run(...artifactValues(a)));
    },
    async replacePendingArtifact(a) {
      return mapUnique(() => replacePending(a));
    },
    async getArtifact(orgId, id) {
      const row = db
        .prepare('SELECT * FROM firmware_artifacts WHERE org_id = ? AND id = ?')
        .get(orgId, id) as ArtifactRow | undefined;
      return row && toArtifact(row);
    },
    async listArtifacts(orgId, opts) {
      const rows = (
        opts.before === undefined
          ? db
              .prepare('SELECT * FROM firmware_artifacts WHERE org_id = ? ORDER BY id DESC LIMIT ?')
              .all(orgId, opts.limit)
          : db
              .prepare(
                `SELECT * FROM firmware_artifacts WHERE org_id = ? AND id < ?
                 ORDER BY id DESC LIMIT ?`,
              )
              .all(orgId, opts.before, opts.limit)
      ) as ArtifactRow[];
      return rows.map(toArtifact);
    },
    async markReady(orgId, id, blobKey) {
      return (
        db
          .prepare(
            `UPDATE firmware_artifacts SET state = 'ready', blob_key = ?
             WHERE org_id = ? AND id = ? AND state = 'pending'`,
          )
          .run(blobKey, orgId, id).changes > 0
      );
    },
    async deleteArtifact(orgId, id) {
      return (
        db.prepare('DELETE FROM firmware_artifacts WHERE org_id = ? AND id = ?').run(orgId, id)
          .changes > 0
      );
    },
    async blobInUse(blobKey) {
      return (
        db.prepare('SELECT 1 FROM firmware_artifacts WHERE blob_key = ? LIMIT 1').get(blobKey) !==
        undefined
      );
    },
  };
}
