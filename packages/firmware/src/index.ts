/** @bulwark/firmware: signed firmware metadata in the style of TUF (issue 6 item 1). */
export { canonicalJson } from './canonical.js';
export {
  Chunker,
  DEFAULT_CHUNK_PARAMS,
  MAX_INDEX_CHUNKS,
  SMALL_IMAGE_CHUNK_PARAMS,
  chunkAlgorithm,
  chunkImage,
  chunkIndexProblem,
  gearTable,
  paramsForLength,
  parseChunkAlgorithm,
  type ChunkEntry,
  type ChunkParams,
} from './chunking.js';
export {
  KEY_ALGORITHMS,
  generateSigningKey,
  publicKeyEntry,
  signerFor,
  signingKeyFromPem,
  type KeyAlgorithm,
  type SigningKey,
} from './keys.js';
export { refuse, type Refusal, type RefusalReason, type Verified } from './refusal.js';
export {
  RELEASE_ROLE,
  createRoot,
  expiryAfter,
  parseRoot,
  signMetadata,
  verifyRoot,
  verifyRootUpdate,
  type RootSpec,
  type TrustedRoot,
} from './root.js';
export {
  createRelease,
  parseRelease,
  verifyRelease,
  type ChunkIndex,
  type ImageDigest,
  type Release,
  type ReleaseSpec,
} from './release.js';
export {
  checkCompatible,
  type DeviceFacts,
  type Incompatibility,
  type IncompatibleReason,
} from './compat.js';
export { compareVersions, isVersion } from '@bulwark/protocol';
