/**
 * The firmware repository (issue 6 item 2): each organization's trusted TUF root and its artifacts.
 * An artifact is created from its signed release metadata (verified against the root, `pending`),
 * then its image is streamed in, hashed on the way and kept only when length and SHA-256 match the
 * signed metadata (`ready`). The hub never holds signing keys.
 *
 * Permissions: writes (root, upload, delete) need `firmware:update`; reads need `devices:read`;
 * a device may read (download) the ready artifacts of its own organization.
 */
import { BulwarkError, type ErrorCode } from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import type { BlobStore, ByteRange } from '../ports/blobs.js';
import { BlobVerifier, type BlobExpect } from './blob-verifier.js';
import type { Clock } from '../ports/clock.js';
import type {
  FirmwareArtifactRecord,
  FirmwareRootRecord,
  FirmwareStore,
  FirmwareVerifier,
} from '../ports/firmware.js';
import type { Principal } from '../identity/principal.js';
import { requirePermission } from '../identity/principal.js';
import { newId } from '../shared/ids.js';
import { jsonDepthBeyond } from '../shared/json-depth.js';
import { artifactUses, describeArtifactUses, type ArtifactUsageStores } from './artifact-usage.js';
import { decideRange, type RangeDecision } from './byte-range.js';

export interface FirmwareRepoConfig {
  /** The largest image accepted, in bytes. */
  maxImageBytes: number;
  /** The largest metadata or root document accepted, in bytes of JSON. */
  maxMetadataBytes: number;
  /** The deepest nesting accepted in a metadata or root document (a container is one level). */
  maxMetadataDepth: number;
}

export const DEFAULT_FIRMWARE_REPO_CONFIG: FirmwareRepoConfig = {
  maxImageBytes: 512 * 1024 * 1024,
  maxMetadataBytes: 1024 * 1024,
  // Signed TUF metadata nests about 6 levels (signed → custom → chunk index → entry); 32 leaves
  // room for vendor `custom` fields while every recursive walk stays far from the stack limit.
  maxMetadataDepth: 32,
};

/** Refusal reasons of the verifier → the error codes the API answers with. */
const REFUSAL_CODES: Readonly<Record<string, ErrorCode>> = {
  malformed: 'firmware_metadata_malformed',
  unknown_key: 'firmware_unknown_key',
  threshold_not_met: 'firmware_threshold_not_met',
  bad_signature: 'firmware_bad_signature',
  expired: 'firmware_metadata_expired',
  length_mismatch: 'firmware_length_mismatch',
  hash_mismatch: 'firmware_hash_mismatch',
  version_not_next: 'firmware_root_version_not_next',
};

function refused(v: { reason: string; message: string }): BulwarkError {
  return new BulwarkError(REFUSAL_CODES[v.reason] ?? 'firmware_metadata_malformed', v.message, {
    extra: { reason: v.reason },
  });
}

/** What a download serves: the artifact, the range decision and (unless 416) the bytes. */
export type ArtifactDownload =
  | { artifact: FirmwareArtifactRecord; kind: 'full'; body: AsyncIterable<Uint8Array> }
  | {
      artifact: FirmwareArtifactRecord;
      kind: 'range';
      range: ByteRange;
      body: AsyncIterable<Uint8Array>;
    }
  | { artifact: FirmwareArtifactRecord; kind: 'unsatisfiable' };

/** An image to serve, with the artifact it belongs to (for the audit entry of a corrupt one). */
type ServedImage = BlobExpect & { orgId: string; artifactId: string };

export class FirmwareRepoService {
  readonly #images: BlobVerifier<ServedImage>;

  constructor(
    private readonly d: {
      store: FirmwareStore;
      blobs: BlobStore;
      verifier: FirmwareVerifier;
      clock: Clock;
      audit: AuditService;
      config: FirmwareRepoConfig;
      /**
       * Where jobs, rollouts and auto-upgrade policies are kept: an artifact they use is not
       * deleted (`firmware_artifact_in_use`). Without it, deletes are not checked.
       */
      usage?: ArtifactUsageStores;
    },
  ) {
    this.#images = new BlobVerifier<ServedImage>(
      d.blobs,
      () => d.clock.now(),
      (img, detail) =>
        void d.audit
          .record({
            orgId: img.orgId,
            actorType: 'system',
            actorId: null,
            action: 'firmware.image_corrupt',
            targetType: 'firmware_artifact',
            targetId: img.artifactId,
            source: null,
            result: 'failure',
            detail: { sha256: img.sha256, detail },
          })
          .catch(() => undefined),
    );
  }

  async getRoot(p: Principal): Promise<FirmwareRootRecord> {
    if (p.kind !== 'device') requirePermission(p, 'devices:read');
    const root = await this.d.store.getRoot(p.orgId);
    if (!root) throw new BulwarkError('firmware_root_missing');
    return root;
  }

  /**
   * Installs or rotates the organization's trusted root. The first one is trusted on first use
   * (it must still be well-signed by its own root keys); later ones must pass a TUF root update
   * from the stored one (the next version, signed by old and new root key thresholds).
   */
  async putRoot(p: Principal, json: unknown): Promise<FirmwareRootRecord> {
    this.writer(p);
    const text = this.sizedJson(json, 'root');
    const now = new Date(this.d.clock.now());
    const current = await this.d.store.getRoot(p.orgId);
    const v = current
      ? this.d.verifier.verifyRootUpdate(JSON.parse(current.root) as unknown, json, now)
      : this.d.verifier.verifyRoot(json, now);
    if (!v.ok) {
      await this.audit(p, 'firmware.root_refused', null, 'failure', { reason: v.reason });
      throw refused(v);
    }
    const record: FirmwareRootRecord = {
      orgId: p.orgId,
      version: v.version,
      root: text,
      updatedBy: p.id,
      updatedAt: this.d.clock.now(),
    };
    if (!(await this.d.store.putRoot(record, current?.version ?? null))) {
      throw new BulwarkError('conflict', 'the trusted root changed meanwhile; retry');
    }
    await this.audit(p, current ? 'firmware.root_rotated' : 'firmware.root_set', null, 'success', {
      version: v.version,
      previous: current?.version ?? null,
    });
    return record;
  }

  /** Accepts signed release metadata: the artifact is `pending` until its image is uploaded. */
  async createArtifact(p: Principal, metadata: unknown): Promise<FirmwareArtifactRecord> {
    this.writer(p);
    const text = this.sizedJson(metadata, 'metadata');
    const root = await this.d.store.getRoot(p.orgId);
    if (!root) throw new BulwarkError('firmware_root_missing');
    const v = this.d.verifier.verifyRelease(
      metadata,
      JSON.parse(root.root) as unknown,
      new Date(this.d.clock.now()),
    );
    if (!v.ok) {
      await this.audit(p, 'firmware.upload_refused', null, 'failure', { reason: v.reason });
      throw refused(v);
    }
    const r = v.release;
    if (r.length > this.d.config.maxImageBytes) {
      throw new BulwarkError(
        'firmware_image_too_large',
        `the image is ${r.length} bytes; this hub accepts at most ${this.d.config.maxImageBytes}`,
        { extra: { limit: this.d.config.maxImageBytes } },
      );
    }
    const artifact: FirmwareArtifactRecord = {
      id: newId(),
      orgId: p.orgId,
      name: r.name,
      types: [...r.types],
      hardware: [...r.hardware],
      version: r.version,
      releaseCounter: r.releaseCounter,
      length: r.length,
      sha256: r.sha256,
      metadata: text,
      state: 'pending',
      blobKey: null,
      createdBy: p.id,
      createdAt: this.d.clock.now(),
    };
    const replaced = await this.insertArtifact(artifact);
    await this.audit(p, 'firmware.artifact_created', artifact.id, 'success', {
      name: r.name,
      version: r.version,
      sha256: r.sha256,
      ...(replaced ? { replacedPending: true } : {}),
    });
    return artifact;
  }

  /**
   * Creates the artifact; one left `pending` with the same image (a refused or abandoned upload)
   * is replaced, so uploading the right image again just works. True when it replaced one.
   */
  private async insertArtifact(artifact: FirmwareArtifactRecord): Promise<boolean> {
    try {
      await this.d.store.createArtifact(artifact);
      return false;
    } catch (err) {
      if (!(err instanceof BulwarkError) || err.code !== 'firmware_artifact_exists') throw err;
      if (await this.d.store.replacePendingArtifact(artifact)) return true;
      throw new BulwarkError(
        'firmware_artifact_exists',
        'an artifact with this image is already in the repository (firmware list shows it)',
      );
    }
  }

  /**
   * Streams the image of a `pending` artifact into the blob store, which keeps it only when its
   * length and SHA-256 match the signed metadata; the metadata is verified again first (it may
   * have expired, or the root rotated away from its keys, since the artifact was created).
   */
  async uploadImage(
    p: Principal,
    id: string,
    data: AsyncIterable<Uint8Array>,
  ): Promise<FirmwareArtifactRecord> {
    this.writer(p);
    const artifact = await this.d.store.getArtifact(p.orgId, id);
    if (!artifact) throw new BulwarkError('not_found', 'no such artifact');
    if (artifact.state !== 'pending') {
      throw new BulwarkError('conflict', 'the image of this artifact has already been uploaded');
    }
    const root = await this.d.store.getRoot(p.orgId);
    if (!root) throw new BulwarkError('firmware_root_missing');
    const v = this.d.verifier.verifyRelease(
      JSON.parse(artifact.metadata) as unknown,
      JSON.parse(root.root) as unknown,
      new Date(this.d.clock.now()),
    );
    if (!v.ok) throw refused(v);
    let key: string;
    try {
      key = await this.d.blobs.put(data, { length: artifact.length, sha256: artifact.sha256 });
    } catch (err) {
      if (err instanceof BulwarkError) {
        await this.audit(p, 'firmware.upload_refused', id, 'failure', { reason: err.code });
      }
      throw err;
    }
    if (!(await this.d.store.markReady(p.orgId, id, key))) {
      // deleted or completed meanwhile: drop the blob unless another artifact uses it
      await this.dropBlobIfUnused(key);
      throw new BulwarkError('conflict', 'the artifact changed during the upload');
    }
    await this.audit(p, 'firmware.image_uploaded', id, 'success', { length: artifact.length });
    return { ...artifact, state: 'ready', blobKey: key };
  }

  async get(p: Principal, id: string): Promise<FirmwareArtifactRecord> {
    this.reader(p);
    const a = await this.d.store.getArtifact(p.orgId, id);
    if (!a || (p.kind === 'device' && a.state !== 'ready')) {
      throw new BulwarkError('not_found', 'no such artifact');
    }
    return a;
  }

  async list(
    p: Principal,
    opts: { before?: string; limit: number },
  ): Promise<FirmwareArtifactRecord[]> {
    this.reader(p);
    return this.d.store.listArtifacts(p.orgId, opts);
  }

  /**
   * Deletes an artifact and (unless another artifact shares it) its image. Refused with
   * `firmware_artifact_in_use`, nothing changed, while an open job, a running or paused rollout or
   * an auto-upgrade policy uses it; a use that starts during the delete meets `artifact_missing`.
   */
  async delete(p: Principal, id: string): Promise<void> {
    this.writer(p);
    const a = await this.d.store.getArtifact(p.orgId, id);
    if (a && this.d.usage) {
      const uses = await artifactUses(this.d.usage, p.orgId, id);
      if (uses.length > 0) {
        throw new BulwarkError('firmware_artifact_in_use', describeArtifactUses(uses), {
          extra: { uses },
        });
      }
    }
    if (!a || !(await this.d.store.deleteArtifact(p.orgId, id))) {
      throw new BulwarkError('not_found', 'no such artifact');
    }
    if (a.blobKey) await this.dropBlobIfUnused(a.blobKey);
    await this.audit(p, 'firmware.artifact_deleted', id, 'success', { sha256: a.sha256 });
  }

  /**
   * Opens a ready artifact's image for download, honouring an HTTP `Range` header (one range;
   * anything else serves the whole image). Devices may download the artifacts of their org.
   */
  async download(p: Principal, id: string, rangeHeader?: string): Promise<ArtifactDownload> {
    const artifact = await this.get(p, id);
    if (artifact.state !== 'ready' || !artifact.blobKey) {
      throw new BulwarkError('not_found', 'the image of this artifact has not been uploaded');
    }
    const decision: RangeDecision = decideRange(rangeHeader, artifact.length);
    if (decision.kind === 'unsatisfiable') return { artifact, kind: 'unsatisfiable' };
    const range = decision.kind === 'range' ? decision.range : undefined;
    const image = {
      key: artifact.blobKey,
      sha256: artifact.sha256,
      length: artifact.length,
      orgId: artifact.orgId,
      artifactId: artifact.id,
    };
    const body = await this.#images.open(image, range);
    if (!body) throw new BulwarkError('internal_error', 'the stored image is missing');
    return range ? { artifact, kind: 'range', range, body } : { artifact, kind: 'full', body };
  }

  private async dropBlobIfUnused(key: string): Promise<void> {
    if (!(await this.d.store.blobInUse(key))) await this.d.blobs.delete(key);
  }

  private writer(p: Principal): void {
    if (p.kind === 'device') throw new BulwarkError('forbidden', 'devices cannot change firmware');
    requirePermission(p, 'firmware:update');
  }

  private reader(p: Principal): void {
    if (p.kind !== 'device') requirePermission(p, 'devices:read');
  }

  /** The document as JSON text, refused first when nested too deeply or too large. */
  private sizedJson(json: unknown, what: string): string {
    // Depth first, without recursion: stringifying 100k nested arrays overflows the stack.
    const depth = jsonDepthBeyond(json, this.d.config.maxMetadataDepth);
    if (depth !== undefined) {
      throw new BulwarkError(
        'json_too_deep',
        `the ${what} nests deeper than ${this.d.config.maxMetadataDepth} levels`,
        { extra: { limit: this.d.config.maxMetadataDepth } },
      );
    }
    const text = JSON.stringify(json);
    if (Buffer.byteLength(text) > this.d.config.maxMetadataBytes) {
      throw new BulwarkError('body_too_large', `the ${what} is larger than allowed`);
    }
    return text;
  }

  private async audit(
    p: Principal,
    action: string,
    targetId: string | null,
    result: 'success' | 'failure',
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.d.audit.record({
      orgId: p.orgId,
      actorType: p.kind,
      actorId: p.id,
      action,
      targetType: 'firmware_artifact',
      targetId,
      source: null,
      result,
      detail,
    });
  }
}
