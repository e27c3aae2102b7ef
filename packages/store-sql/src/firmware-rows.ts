import type {
  FirmwareArtifactRecord,
  FirmwareArtifactState,
  FirmwareRootRecord,
} from '@bulwark/core';

/** A row of `firmware_artifacts` (the same in both dialects: lists are JSON text). */
export interface ArtifactRow {
  id: string;
  org_id: string;
  name: string;
  types_json: string;
  hardware_json: string;
  version: string;
  release_counter: number | string;
  length: number | string;
  sha256: string;
  metadata_json: string;
  state: string;
  blob_key: string | null;
  created_by: string;
  created_at: number | string;
}

/** A row of `firmware_roots`. */
export interface FirmwareRootRow {
  org_id: string;
  version: number | string;
  root_json: string;
  updated_by: string;
  updated_at: number | string;
}

export const toArtifact = (r: ArtifactRow): FirmwareArtifactRecord => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  types: JSON.parse(r.types_json) as string[],
  hardware: JSON.parse(r.hardware_json) as string[],
  version: r.version,
  releaseCounter: Number(r.release_counter),
  length: Number(r.length),
  sha256: r.sha256,
  metadata: r.metadata_json,
  state: r.state as FirmwareArtifactState,
  blobKey: r.blob_key,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
});

export const toFirmwareRoot = (r: FirmwareRootRow): FirmwareRootRecord => ({
  orgId: r.org_id,
  version: Number(r.version),
  root: r.root_json,
  updatedBy: r.updated_by,
  updatedAt: Number(r.updated_at),
});

/** The `firmware_artifacts` columns, in the order `artifactValues` gives them. */
export const ARTIFACT_COLUMNS =
  'id, org_id, name, types_json, hardware_json, version, release_counter, length, sha256, ' +
  'metadata_json, state, blob_key, created_by, created_at';

export const artifactValues = (a: FirmwareArtifactRecord): unknown[] => [
  a.id,
  a.orgId,
  a.name,
  JSON.stringify(a.types),
  JSON.stringify(a.hardware),
  a.version,
  a.releaseCounter,
  a.length,
  a.sha256,
  a.metadata,
  a.state,
  a.blobKey,
  a.createdBy,
  a.createdAt,
];
