import { createHash } from 'node:crypto';
import {
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
  type KeyAlgorithm,
  type ReleaseSpec,
  type SigningKey,
} from '@bulwark/firmware';

/** A fresh key set and its signed root, as plain JSON (what a device stores). */
export function keySet(
  opts: {
    algorithm?: KeyAlgorithm;
    roots?: number;
    rootThreshold?: number;
    releases?: number;
    releaseThreshold?: number;
    version?: number;
    expires?: string;
  } = {},
) {
  const algorithm = opts.algorithm ?? 'ed25519';
  const rootKeys = Array.from({ length: opts.roots ?? 1 }, () => generateSigningKey(algorithm));
  const releaseKeys = Array.from({ length: opts.releases ?? 1 }, () =>
    generateSigningKey(algorithm),
  );
  const root = signMetadata(
    createRoot({
      version: opts.version ?? 1,
      expires: opts.expires ?? expiryAfter(365 * 86400),
      rootKeys: rootKeys.map((k) => k.publicKey),
      rootThreshold: opts.rootThreshold ?? 1,
      releaseKeys: releaseKeys.map((k) => k.publicKey),
      releaseThreshold: opts.releaseThreshold ?? 1,
    }),
    rootKeys,
  );
  return { rootKeys, releaseKeys, root: json(root.toJSON()) };
}

/** A round trip through JSON text, as metadata travels. */
export function json(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/** An image and its digest. */
export function image(size = 4096, seed = 1) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return { bytes, length: size, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Signed release metadata for `img` as JSON. */
export function release(
  keys: readonly SigningKey[],
  img: { length: number; sha256: string },
  over: Partial<ReleaseSpec> = {},
) {
  const meta = createRelease({
    name: 'rpi4-1.2.0.img',
    types: ['rpi4'],
    hardware: ['rev-b', 'rev-c'],
    version: '1.2.0',
    minVersion: '1.0.0',
    releaseCounter: 7,
    length: img.length,
    sha256: img.sha256,
    expires: expiryAfter(90 * 86400),
    ...over,
  });
  return json(signMetadata(meta, keys).toJSON());
}
