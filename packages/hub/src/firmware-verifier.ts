/** The FirmwareVerifier port, implemented by @bulwark/firmware (TUF metadata via @tufjs/models). */
import type { FirmwareVerifier } from '@bulwark/core';
import { verifyRelease, verifyRoot, verifyRootUpdate } from '@bulwark/firmware';

export const tufFirmwareVerifier: FirmwareVerifier = {
  verifyRoot(json, now) {
    const v = verifyRoot(json, { now });
    return v.ok ? { ok: true, version: v.version } : v;
  },
  verifyRootUpdate(old, next, now) {
    const v = verifyRootUpdate(old, next, { now });
    return v.ok ? { ok: true, version: v.version } : v;
  },
  verifyRelease(json, trustedRoot, now) {
    const v = verifyRelease(json, trustedRoot, { now });
    return v.ok ? { ok: true, release: v.release } : v;
  },
};
