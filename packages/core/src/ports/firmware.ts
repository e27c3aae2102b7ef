/**
 * The firmware repository port: each organization's trusted TUF root and its artifacts (signed
 * release metadata plus the image, which lives in the BlobStore under `blobKey`). The hub holds no
 * signing keys; it only verifies against the root an organization uploaded.
 */

/** `pending`: metadata accepted, image not yet uploaded; `ready`: image verified and stored. */
export type FirmwareArtifactState = 'pending' | 'ready';

/** One artifact, as the hub records it. Times are epoch milliseconds. */
export interface FirmwareArtifactRecord {
  /** A UUIDv7. */
  id: string;
  orgId: string;
  /** The target name in the signed metadata (e.g. `gateway-1.4.2.img`). */
  name: string;
  /** Device types it fits. */
  types: string[];
  /** Hardware revisions it fits (empty: any). */
  hardware: string[];
  version: string;
  /** The monotonic release counter (anti-rollback). */
  releaseCounter: number;
  /** Image length in bytes and SHA-256 (lower-case hex), from the signed metadata. */
  length: number;
  sha256: string;
  /** The signed release metadata exactly as uploaded (JSON text), for devices to verify. */
  metadata: string;
  state: FirmwareArtifactState;
  /** The BlobStore key once `ready`; null while `pending`. */
  blobKey: string | null;
  /** The user or API key that uploaded it. */
  createdBy: string;
  createdAt: number;
}

/** An organization's trusted root (TUF `root` metadata). */
export interface FirmwareRootRecord {
  orgId: string;
  /** The root's own version (`signed.version`). */
  version: number;
  /** The signed root metadata (JSON text). */
  root: string;
  updatedBy: string;
  updatedAt: number;
}

/** The store behind the firmware repository. Every query is scoped to an organization. */
export interface FirmwareStore {
  /** The organization's trusted root, or undefined before the first upload. */
  getRoot(orgId: string): Promise<FirmwareRootRecord | undefined>;
  /**
   * Sets the root if the stored one is still at `expectedVersion` (null: there must be none yet).
   * Returns false when another writer got there first (nothing changed).
   */
  putRoot(root: FirmwareRootRecord, expectedVersion: number | null): Promise<boolean>;
  /** Throws `firmware_artifact_exists` when the organization already has an image with this hash. */
  createArtifact(artifact: FirmwareArtifactRecord): Promise<void>;
  /**
   * In one transaction: removes the organization's `pending` artifact with the same image hash
   * (left by a refused or abandoned upload) and creates `artifact` in its place. False, nothing
   * changed, when there is no such pending artifact.
   */
  replacePendingArtifact(artifact: FirmwareArtifactRecord): Promise<boolean>;
  getArtifact(orgId: string, id: string): Promise<FirmwareArtifactRecord | undefined>;
  /** Newest first, at most `limit`, those with an id below `before` when given. */
  listArtifacts(
    orgId: string,
    opts: { before?: string; limit: number },
  ): Promise<FirmwareArtifactRecord[]>;
  /** `pending` → `ready` with its blob key; false when not found or not pending. */
  markReady(orgId: string, id: string, blobKey: string): Promise<boolean>;
  /** False when there was no such artifact in this organization. */
  deleteArtifact(orgId: string, id: string): Promise<boolean>;
  /** Does any artifact, in any organization, still use this blob (blobs are content-addressed)? */
  blobInUse(blobKey: string): Promise<boolean>;
}

/** A verification outcome: the value when accepted, else a refusal reason and a sentence. */
export type FirmwareVerdict<T> =
  ({ ok: true } & T) | { ok: false; reason: string; message: string };

/** What the hub needs from one verified release's metadata. */
export interface VerifiedReleaseFacts {
  name: string;
  types: readonly string[];
  hardware: readonly string[];
  version: string;
  releaseCounter: number;
  length: number;
  sha256: string;
}

/**
 * Signature checking for the repository (the hub adapts @bulwark/firmware to it; core does no
 * crypto of TUF's). Refusal reasons are those of @bulwark/firmware (`malformed`, `unknown_key`,
 * `threshold_not_met`, `bad_signature`, `expired`, `version_not_next`, ...).
 */
export interface FirmwareVerifier {
  /** A first root on its own: signed by a threshold of its root keys, not expired. */
  verifyRoot(json: unknown, now: Date): FirmwareVerdict<{ version: number }>;
  /** A rotation: the new root signed by thresholds of the old and the new root keys. */
  verifyRootUpdate(old: unknown, next: unknown, now: Date): FirmwareVerdict<{ version: number }>;
  /** Release metadata against the trusted root (signatures, threshold, expiry, shape). */
  verifyRelease(
    json: unknown,
    trustedRoot: unknown,
    now: Date,
  ): FirmwareVerdict<{ release: VerifiedReleaseFacts }>;
}
