import { Metadata, MetadataKind, TargetFile, Targets } from '@tufjs/models';
import type { Root } from '@tufjs/models';
import { chunkIndexProblem } from './chunking.js';
import { refuse, type Verified } from './refusal.js';
import { parseRoot, RELEASE_ROLE } from './root.js';
import { checkThreshold, roleKeys } from './signatures.js';
import { isVersion } from '@bulwark/protocol';

/**
 * The content-defined chunk index of an image, for delta downloads (issue 6 item 4): chunks that
 * tile the image, made by `chunkImage` (chunking.ts) with the named algorithm.
 */
export interface ChunkIndex {
  readonly algorithm: string;
  readonly chunks: readonly {
    readonly offset: number;
    readonly length: number;
    readonly sha256: string;
  }[];
}

/** What one signed release says about its image. */
export interface ReleaseSpec {
  /** The target's name in the metadata, e.g. the image file name. */
  readonly name: string;
  /** Device types the image is for (at least one). */
  readonly types: readonly string[];
  /** Hardware revisions it fits; empty means any hardware of those types. */
  readonly hardware: readonly string[];
  readonly version: string;
  /** The lowest installed version this image may be installed over. */
  readonly minVersion?: string;
  /** Monotonic release counter (TUF metadata version): devices refuse anything below theirs. */
  readonly releaseCounter: number;
  readonly length: number;
  readonly sha256: string;
  readonly expires: string;
  readonly chunkIndex?: ChunkIndex;
}

/** A release whose metadata verified. */
export interface Release extends ReleaseSpec {
  /** Key ids of the trusted release keys whose signatures verified. */
  readonly signedBy: readonly string[];
}

const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** Checks a release spec's fields; returns the first problem or undefined. */
function problem(s: ReleaseSpec): string | undefined {
  if (typeof s.name !== 'string' || s.name.length === 0 || s.name.length > 255)
    return 'name must be 1-255 characters';
  if (!Array.isArray(s.types) || s.types.length === 0)
    return 'at least one device type is required';
  if (!Array.isArray(s.hardware)) return 'hardware must be a list (empty for any)';
  const names: unknown[] = [...(s.types as unknown[]), ...(s.hardware as unknown[])];
  for (const t of names) {
    if (typeof t !== 'string' || !TYPE_NAME.test(t))
      return `'${String(t)}' is not a valid type or hardware name`;
  }
  if (typeof s.version !== 'string' || !isVersion(s.version))
    return `version '${String(s.version)}' is not like 1.2.3`;
  if (
    s.minVersion !== undefined &&
    (typeof s.minVersion !== 'string' || !isVersion(s.minVersion))
  ) {
    return `minVersion '${String(s.minVersion)}' is not like 1.2.3`;
  }
  if (!Number.isSafeInteger(s.releaseCounter) || s.releaseCounter < 1)
    return 'releaseCounter must be a positive integer';
  if (!Number.isSafeInteger(s.length) || s.length < 0)
    return 'length must be a non-negative integer';
  if (typeof s.sha256 !== 'string' || !SHA256.test(s.sha256))
    return 'sha256 must be 64 lowercase hex digits';
  if (typeof s.expires !== 'string' || Number.isNaN(Date.parse(s.expires)))
    return 'expires must be a date';
  if (s.chunkIndex !== undefined) {
    const bad = chunkIndexProblem(s.chunkIndex, s.length);
    if (bad !== undefined) return `chunkIndex is malformed: ${bad}`;
  }
  return undefined;
}

/** Builds unsigned release (TUF targets) metadata for one image. Throws a TypeError on bad fields. */
export function createRelease(spec: ReleaseSpec): Metadata<Targets> {
  const bad = problem(spec);
  if (bad !== undefined) throw new TypeError(bad);
  const custom = {
    bulwark: {
      types: [...spec.types],
      hardware: [...spec.hardware],
      version: spec.version,
      ...(spec.minVersion === undefined ? {} : { minVersion: spec.minVersion }),
      releaseCounter: spec.releaseCounter,
      ...(spec.chunkIndex === undefined ? {} : { chunkIndex: spec.chunkIndex }),
    },
  };
  const targets = new Targets({
    version: spec.releaseCounter,
    specVersion: '1.0.31',
    expires: spec.expires,
    targets: {
      [spec.name]: new TargetFile({
        path: spec.name,
        length: spec.length,
        hashes: { sha256: spec.sha256 },
        unrecognizedFields: { custom: JSON.parse(JSON.stringify(custom)) as never },
      }),
    },
  });
  return new Metadata(targets);
}

/** Reads the release out of parsed targets metadata; throws a TypeError when it is not one. */
function readRelease(meta: Metadata<Targets>, signedBy: string[]): Release {
  const files = Object.values(meta.signed.targets);
  if (files.length !== 1 || files[0] === undefined)
    throw new TypeError('release metadata must name exactly one image');
  const file = files[0];
  const b = (file.custom.bulwark ?? {}) as Record<string, unknown>;
  const sha256 = file.hashes.sha256;
  if (sha256 === undefined) throw new TypeError('the image has no sha256 hash');
  const release: Release = {
    name: file.path,
    types: b.types as string[],
    hardware: b.hardware as string[],
    version: b.version as string,
    ...(b.minVersion === undefined ? {} : { minVersion: b.minVersion as string }),
    releaseCounter: b.releaseCounter as number,
    length: file.length,
    sha256,
    expires: meta.signed.expires,
    ...(b.chunkIndex === undefined ? {} : { chunkIndex: b.chunkIndex as ChunkIndex }),
    signedBy,
  };
  const bad = problem(release);
  if (bad !== undefined) throw new TypeError(bad);
  if (release.releaseCounter !== meta.signed.version) {
    throw new TypeError('releaseCounter differs from the metadata version');
  }
  return release;
}

/** Parses release metadata JSON; throws a TypeError saying what is wrong. */
export function parseRelease(json: unknown): Metadata<Targets> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError('release metadata must be a JSON object');
  }
  const signed = (json as { signed?: { _type?: unknown } }).signed;
  if (signed?._type !== MetadataKind.Targets) throw new TypeError('not release (targets) metadata');
  return Metadata.fromJSON(MetadataKind.Targets, json as Parameters<typeof Metadata.fromJSON>[1]);
}

/** The image as measured by whoever holds it (the hub on upload, the agent after download). */
export interface ImageDigest {
  readonly length: number;
  readonly sha256: string;
}

/**
 * Verifies release metadata against a trusted root (TUF client workflow §5.5/§5.7, reduced to one
 * targets role): well-formed, signed by a threshold of the root's release keys, not expired (nor
 * the root), and — given the image's measured length and sha256 — describing exactly that image.
 * The length is compared first, so an over-long download is refused as such (§5.7.3).
 */
export function verifyRelease(
  json: unknown,
  trustedRoot: unknown,
  opts: { now: Date; image?: ImageDigest },
): Verified<{ release: Release }> {
  let root: Metadata<Root>;
  try {
    root =
      trustedRoot instanceof Metadata ? (trustedRoot as Metadata<Root>) : parseRoot(trustedRoot);
  } catch (err) {
    return refuse('malformed', `trusted root: ${(err as Error).message}`);
  }
  let meta: Metadata<Targets>;
  try {
    meta = parseRelease(json);
  } catch (err) {
    return refuse('malformed', `release metadata: ${(err as Error).message}`);
  }
  const sigs = checkThreshold(meta, roleKeys(root.signed, RELEASE_ROLE), 'release metadata');
  if (!sigs.ok) return sigs;
  let release: Release;
  try {
    release = readRelease(meta, sigs.signedBy);
  } catch (err) {
    return refuse('malformed', `release metadata: ${(err as Error).message}`);
  }
  if (root.signed.isExpired(opts.now)) {
    return refuse(
      'expired',
      `the trusted root (version ${root.signed.version}) expired at ${root.signed.expires}`,
    );
  }
  if (meta.signed.isExpired(opts.now)) {
    return refuse('expired', `release metadata ${release.version} expired at ${release.expires}`);
  }
  const image = opts.image;
  if (image !== undefined) {
    if (image.length !== release.length) {
      return refuse(
        'length_mismatch',
        `image is ${image.length} bytes, the metadata says ${release.length}`,
      );
    }
    if (image.sha256.toLowerCase() !== release.sha256) {
      return refuse(
        'hash_mismatch',
        `image sha256 ${image.sha256.slice(0, 16)}… differs from the signed ${release.sha256.slice(0, 16)}…`,
      );
    }
  }
  return { ok: true, release };
}
