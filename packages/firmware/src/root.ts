import { Metadata, MetadataKind, Root } from '@tufjs/models';
import type { Key, Targets } from '@tufjs/models';
import { signerFor, type SigningKey } from './keys.js';
import { refuse, type Verified } from './refusal.js';
import { checkThreshold, roleKeys } from './signatures.js';

/**
 * Bulwark's "release" role is TUF's top-level `targets` role: the keys that sign firmware
 * metadata. TUF also requires `snapshot` and `timestamp` roles; Bulwark has no online repository
 * signer, so they list the release keys and are not used — the signed release counter takes the
 * place of snapshot/timestamp rollback protection (see docs/decisions/0005-firmware-metadata.md).
 */
export const RELEASE_ROLE = 'targets';

/** A TUF expiry time (`2027-01-01T00:00:00Z`, whole seconds, as the spec writes it). */
export function expiryAfter(seconds: number, now: Date = new Date()): string {
  return new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What a root document says. */
export interface RootSpec {
  readonly version: number;
  readonly expires: string;
  readonly rootKeys: readonly Key[];
  readonly rootThreshold: number;
  readonly releaseKeys: readonly Key[];
  readonly releaseThreshold: number;
}

/** Builds an unsigned root document; thresholds must be reachable by the keys listed. */
export function createRoot(spec: RootSpec): Metadata<Root> {
  checkRole('root', spec.rootKeys.length, spec.rootThreshold);
  checkRole('release', spec.releaseKeys.length, spec.releaseThreshold);
  if (!Number.isSafeInteger(spec.version) || spec.version < 1) {
    throw new RangeError('root version must be a positive integer');
  }
  // @tufjs/models does not export its Role class; building from the JSON form also runs its checks.
  const role = (keys: readonly Key[], threshold: number) => ({
    keyids: keys.map((k) => k.keyID),
    threshold,
  });
  const release = role(spec.releaseKeys, spec.releaseThreshold);
  const root = Root.fromJSON({
    _type: MetadataKind.Root,
    spec_version: '1.0.31',
    version: spec.version,
    expires: spec.expires,
    keys: Object.fromEntries(
      [...spec.rootKeys, ...spec.releaseKeys].map((k) => [k.keyID, k.toJSON()]),
    ),
    roles: {
      root: role(spec.rootKeys, spec.rootThreshold),
      targets: release,
      snapshot: release,
      timestamp: release,
    },
    consistent_snapshot: false,
  });
  return new Metadata(root);
}

function checkRole(name: string, keys: number, threshold: number): void {
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keys) {
    throw new RangeError(`${name} threshold must be between 1 and the ${keys} ${name} key(s)`);
  }
}

/** Adds a signature by each key to `meta` (replacing an earlier signature by the same key). */
export function signMetadata<T extends Root | Targets>(
  meta: Metadata<T>,
  keys: readonly SigningKey[],
): Metadata<T> {
  for (const key of keys) meta.sign(signerFor(key), true);
  return meta;
}

/** Parses root metadata JSON; throws a TypeError saying what is wrong. */
export function parseRoot(json: unknown): Metadata<Root> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError('root metadata must be a JSON object');
  }
  const signed = (json as { signed?: { _type?: unknown } }).signed;
  if (signed?._type !== MetadataKind.Root) throw new TypeError('not root metadata (_type)');
  return Metadata.fromJSON(MetadataKind.Root, json as Parameters<typeof Metadata.fromJSON>[1]);
}

/** A root document that verified, with the role keys it lists. */
export interface TrustedRoot {
  readonly root: Metadata<Root>;
  readonly version: number;
  readonly expires: string;
}

/**
 * Verifies a root document on its own (the first root an operator installs on a device): it must
 * be signed by a threshold of the root keys it lists and, given `now`, not be expired.
 */
export function verifyRoot(json: unknown, opts: { now?: Date } = {}): Verified<TrustedRoot> {
  let root: Metadata<Root>;
  try {
    root = parseRoot(json);
  } catch (err) {
    return refuse('malformed', `root metadata: ${(err as Error).message}`);
  }
  const own = checkThreshold(root, roleKeys(root.signed, 'root'), 'root metadata');
  if (!own.ok) return own;
  if (opts.now !== undefined && root.signed.isExpired(opts.now)) {
    return refuse(
      'expired',
      `root metadata version ${root.signed.version} expired at ${root.signed.expires}`,
    );
  }
  return { ok: true, root, version: root.signed.version, expires: root.signed.expires };
}

/**
 * Key rotation through the root (TUF spec §5.3.4): a new root is trusted when its version is the
 * old one plus one and it is signed by a threshold of the *old* root's root keys and a threshold of
 * its *own* root keys. Expiry of intermediate roots does not matter (a device offline for years can
 * walk the chain); pass `now` to check the new root's expiry when it is the last one.
 */
export function verifyRootUpdate(
  oldRoot: unknown,
  newRoot: unknown,
  opts: { now?: Date } = {},
): Verified<TrustedRoot> {
  let prev: Metadata<Root>;
  let next: Metadata<Root>;
  try {
    prev = oldRoot instanceof Metadata ? (oldRoot as Metadata<Root>) : parseRoot(oldRoot);
    next = newRoot instanceof Metadata ? (newRoot as Metadata<Root>) : parseRoot(newRoot);
  } catch (err) {
    return refuse('malformed', `root metadata: ${(err as Error).message}`);
  }
  if (next.signed.version !== prev.signed.version + 1) {
    return refuse(
      'version_not_next',
      `new root has version ${next.signed.version}, expected ${prev.signed.version + 1}`,
    );
  }
  const byOld = checkThreshold(next, roleKeys(prev.signed, 'root'), 'new root (old root keys)');
  if (!byOld.ok) return byOld;
  const byNew = checkThreshold(next, roleKeys(next.signed, 'root'), 'new root (its own keys)');
  if (!byNew.ok) return byNew;
  if (opts.now !== undefined && next.signed.isExpired(opts.now)) {
    return refuse(
      'expired',
      `root metadata version ${next.signed.version} expired at ${next.signed.expires}`,
    );
  }
  return { ok: true, root: next, version: next.signed.version, expires: next.signed.expires };
}
