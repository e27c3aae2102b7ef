import type { Release } from './release.js';
import { compareVersions } from '@bulwark/protocol';

/** What a device says about itself when deciding whether a release is for it. */
export interface DeviceFacts {
  readonly type: string;
  readonly hardware?: string;
  /** The installed firmware version. */
  readonly version: string;
  /** The highest release counter the device has installed (0 for none). */
  readonly releaseCounter: number;
}

/** Why a verified release does not fit a device. */
export type IncompatibleReason =
  'wrong_type' | 'wrong_hardware' | 'below_min_version' | 'downgrade';

/** One reason with its sentence. */
export interface Incompatibility {
  readonly reason: IncompatibleReason;
  readonly message: string;
}

/**
 * Checks a verified release against a device before anything is downloaded; returns every reason it
 * does not fit (empty when it does). The release counter is the anti-rollback check: an image whose
 * counter is below the device's is refused even if signed, so an old vulnerable release cannot be
 * replayed. Re-installing the same counter is allowed (a repair of the current release).
 */
export function checkCompatible(release: Release, device: DeviceFacts): Incompatibility[] {
  const out: Incompatibility[] = [];
  if (!release.types.includes(device.type)) {
    out.push({
      reason: 'wrong_type',
      message: `release is for ${release.types.join(', ')}, device is ${device.type}`,
    });
  }
  if (
    release.hardware.length > 0 &&
    (device.hardware === undefined || !release.hardware.includes(device.hardware))
  ) {
    out.push({
      reason: 'wrong_hardware',
      message: `release fits hardware ${release.hardware.join(', ')}, device has ${device.hardware ?? 'none reported'}`,
    });
  }
  if (release.minVersion !== undefined && compareVersions(device.version, release.minVersion) < 0) {
    out.push({
      reason: 'below_min_version',
      message: `release needs at least ${release.minVersion} installed, device runs ${device.version}`,
    });
  }
  if (release.releaseCounter < device.releaseCounter) {
    out.push({
      reason: 'downgrade',
      message: `release counter ${release.releaseCounter} is below the device's ${device.releaseCounter}`,
    });
  }
  return out;
}
