/**
 * The expiry of an artifact's signed release metadata. The hub verified the metadata when it was
 * uploaded, but metadata expires (that is what stops a captured old release from being replayed):
 * a device refuses an expired release, so the hub refuses to start work with one — a deploy, a
 * rollout, an auto-upgrade policy — instead of creating jobs that can only fail.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { FirmwareArtifactRecord } from '../ports/firmware.js';

/** When the artifact's signed metadata expires (ms since the epoch); null when it cannot tell. */
export function releaseExpiresAt(
  artifact: Pick<FirmwareArtifactRecord, 'metadata'>,
): number | null {
  try {
    const doc = JSON.parse(artifact.metadata) as { signed?: { expires?: unknown } };
    const at = typeof doc.signed?.expires === 'string' ? Date.parse(doc.signed.expires) : NaN;
    return Number.isNaN(at) ? null : at;
  } catch {
    return null;
  }
}

/** Has the artifact's metadata expired at `now`? */
export function releaseExpired(
  artifact: Pick<FirmwareArtifactRecord, 'metadata'>,
  now: number,
): boolean {
  const at = releaseExpiresAt(artifact);
  return at !== null && at <= now;
}

/** Throws `firmware_metadata_expired` (nothing changed) when the metadata has expired at `now`. */
export function assertReleaseCurrent(
  artifact: Pick<FirmwareArtifactRecord, 'id' | 'name' | 'version' | 'metadata'>,
  now: number,
): void {
  if (!releaseExpired(artifact, now)) return;
  const at = new Date(releaseExpiresAt(artifact) ?? now).toISOString();
  throw new BulwarkError(
    'firmware_metadata_expired',
    `the signed metadata of ${artifact.name} ${artifact.version} expired at ${at}; devices would ` +
      'refuse it: sign the release again with a later expiry, delete this artifact and upload it again',
    { extra: { artifactId: artifact.id, expires: at } },
  );
}
