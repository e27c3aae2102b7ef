/**
 * One organization's firmware signing keys for hub tests (generated per run, never committed): the
 * signed root document to push, and signed release documents for images — what `bulwark keys
 * init` and `bulwark firmware sign` make, as JSON bodies for the API.
 */
import { createHash } from 'node:crypto';
import {
  createRelease,
  createRoot,
  expiryAfter,
  generateSigningKey,
  signMetadata,
  type KeyAlgorithm,
} from '@bulwark/firmware';

/** A signed TUF document as the API takes it. */
export type SignedDoc = { signed: Record<string, unknown>; signatures: unknown[] };

const doc = (m: { toJSON(): unknown }) => JSON.parse(JSON.stringify(m.toJSON())) as SignedDoc;

/** What a test release says besides its image (defaults: type gateway, any hardware, 30 days). */
export interface ReleaseOptions {
  name: string;
  version: string;
  releaseCounter: number;
  types?: string[];
  hardware?: string[];
  expiresInSeconds?: number;
}

/** Root and release keys; `root` is the signed root document (version 1, one year). */
export function signingKeys(releaseAlgorithm: KeyAlgorithm = 'p256') {
  const rootKey = generateSigningKey('ed25519');
  const releaseKey = generateSigningKey(releaseAlgorithm);
  const root = doc(
    signMetadata(
      createRoot({
        version: 1,
        expires: expiryAfter(365 * 86400),
        rootKeys: [rootKey.publicKey],
        rootThreshold: 1,
        releaseKeys: [releaseKey.publicKey],
        releaseThreshold: 1,
      }),
      [rootKey],
    ),
  );
  return {
    rootKey,
    releaseKey,
    root,
    /** Signed release metadata for `image`. */
    release(image: Uint8Array, o: ReleaseOptions): SignedDoc {
      return doc(
        signMetadata(
          createRelease({
            name: o.name,
            types: o.types ?? ['gateway'],
            hardware: o.hardware ?? [],
            version: o.version,
            releaseCounter: o.releaseCounter,
            length: image.byteLength,
            sha256: createHash('sha256').update(image).digest('hex'),
            expires: expiryAfter(o.expiresInSeconds ?? 30 * 86400),
          }),
          [releaseKey],
        ),
      );
    },
  };
}
