/**
 * Firmware checks (decision 0031): devices running a release the operator marked withdrawn or
 * vulnerable, and devices left on an old release long after a newer one for their type was
 * ready. A device runs an artifact when its reported version is the artifact's version and its
 * type is one the artifact fits (the device's report is the source of truth, DESIGN §6).
 */
import type { FirmwareArtifactRecord } from '../ports/firmware.js';
import type { Device } from '../ports/records.js';
import type { OrgSnapshot } from './snapshot.js';
import { DAY_MS, day, deviceName, type AuditCheckConfig, type FindingDraft } from './types.js';

const runs = (d: Device, a: FirmwareArtifactRecord) =>
  d.firmwareVersion !== null && a.version === d.firmwareVersion && a.types.includes(d.type);

/** Devices on an artifact with an advisory: vulnerable is critical, withdrawn high. */
export function flaggedFirmware(s: OrgSnapshot): FindingDraft[] {
  const flagged = s.advisories
    .map((adv) => ({ adv, artifact: s.artifacts.find((a) => a.id === adv.artifactId) }))
    .filter((x): x is typeof x & { artifact: FirmwareArtifactRecord } => x.artifact !== undefined);
  const out: FindingDraft[] = [];
  for (const d of s.devices) {
    if (d.state === 'decommissioned') continue;
    const hit = flagged.find((f) => runs(d, f.artifact));
    if (hit === undefined) continue;
    out.push({
      checkId: 'firmware.flagged',
      key: `device:${d.id}`,
      severity: hit.adv.status === 'vulnerable' ? 'critical' : 'high',
      message: `Device ${deviceName(d)} runs ${hit.artifact.name} version ${hit.artifact.version}, marked ${hit.adv.status}: ${hit.adv.reason}`,
      resources: [
        { type: 'device', id: d.id },
        { type: 'artifact', id: hit.artifact.id },
      ],
    });
  }
  return out;
}

/**
 * Devices on a known release for which a newer ready release of their type (a higher release
 * counter) has been available for longer than the threshold: not updated for that long.
 */
export function outdatedFirmware(
  s: OrgSnapshot,
  now: number,
  cfg: AuditCheckConfig,
): FindingDraft[] {
  const ready = s.artifacts.filter((a) => a.state === 'ready');
  const out: FindingDraft[] = [];
  for (const d of s.devices) {
    if (d.state === 'decommissioned') continue;
    const installed = s.artifacts.find((a) => runs(d, a));
    if (installed === undefined) continue;
    const newer = ready
      .filter(
        (a) =>
          a.types.includes(d.type) &&
          a.releaseCounter > installed.releaseCounter &&
          now - a.createdAt > cfg.firmwareStaleDays * DAY_MS,
      )
      // The oldest such release: the device has been behind since it appeared.
      .sort((a, b) => a.createdAt - b.createdAt)[0];
    if (newer === undefined) continue;
    out.push({
      checkId: 'firmware.outdated',
      key: `device:${d.id}`,
      severity: 'low',
      message: `Device ${deviceName(d)} runs version ${installed.version}; version ${newer.version} for its type has been ready since ${day(newer.createdAt)}, more than ${cfg.firmwareStaleDays} days`,
      resources: [
        { type: 'device', id: d.id },
        { type: 'artifact', id: installed.id },
        { type: 'artifact', id: newer.id },
      ],
    });
  }
  return out;
}
