/**
 * Checks of a rollout request beyond its schema (the service is also called without HTTP): the
 * artifact is ready and fits the targeted type, the target's location and devices exist, phases
 * grow and end at 100%, limits are in range, the window is well formed. Each refusal has its own
 * code; nothing is stored when one is raised.
 */
import { BulwarkError, type CreateRolloutRequest, type RolloutWindow } from '@bulwark/protocol';
import type { FirmwareArtifactRecord } from '../ports/firmware.js';
import type { Storage } from '../ports/storage.js';
import { assertReleaseCurrent } from '../firmware/release-expiry.js';
import { validateWindow } from './rollout-window.js';

const posInt = (n: number | undefined, max: number) =>
  n === undefined || (Number.isInteger(n) && n >= 1 && n <= max);

/** Throws the first problem found in `req` for `artifact`. */
export async function validateRolloutRequest(
  d: { storage: Storage },
  orgId: string,
  req: CreateRolloutRequest,
  artifact: FirmwareArtifactRecord,
  now: number,
): Promise<void> {
  if (artifact.state !== 'ready')
    throw new BulwarkError('firmware_artifact_not_ready', 'upload the image of the artifact first');
  assertReleaseCurrent(artifact, now);
  const t = req.target;
  if (
    t.type === undefined &&
    t.tags === undefined &&
    t.location === undefined &&
    t.deviceIds === undefined
  )
    throw new BulwarkError('rollout_target_invalid', 'give a type, tags, a location or devices');
  if (t.type !== undefined && !artifact.types.includes(t.type))
    throw new BulwarkError(
      'rollout_type_mismatch',
      `the artifact is for ${artifact.types.join(', ')}, not ${t.type}`,
    );
  if (t.location !== undefined && !(await d.storage.locations.get(orgId, t.location)))
    throw new BulwarkError('rollout_target_invalid', `no location ${t.location}`);
  if (t.deviceIds !== undefined) {
    const missing: string[] = [];
    for (const id of new Set(t.deviceIds))
      if (!(await d.storage.devices.get(orgId, id))) missing.push(id);
    if (missing.length > 0)
      throw new BulwarkError(
        'rollout_target_invalid',
        `no such devices: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ' …' : ''}`,
        { extra: { missing: missing.slice(0, 100) } },
      );
  }
  validatePhases(req.phases);
  validateLimits(req);
}

/**
 * The limits a rollout and an auto-upgrade policy share: concurrency and rate in 1..10000, a
 * failure threshold in (0, 100] % after at least one finished device, a well-formed window.
 */
export function validateLimits(req: {
  maxConcurrent?: number;
  ratePerMinute?: number;
  failureThreshold?: { percent: number; minDevices: number };
  window?: RolloutWindow;
}): void {
  if (!posInt(req.maxConcurrent, 10_000))
    throw new BulwarkError('rollout_limits_invalid', 'maxConcurrent is an integer 1..10000');
  if (!posInt(req.ratePerMinute, 10_000))
    throw new BulwarkError('rollout_limits_invalid', 'ratePerMinute is an integer 1..10000');
  const f = req.failureThreshold;
  if (f !== undefined && (!(f.percent > 0 && f.percent <= 100) || !posInt(f.minDevices, 1_000_000)))
    throw new BulwarkError(
      'rollout_limits_invalid',
      'the failure threshold is a percentage in (0, 100] after at least 1 finished device',
    );
  if (req.window !== undefined)
    validateWindow({ ...req.window, timezone: req.window.timezone ?? 'UTC' });
}

/**
 * Phases are cumulative: each is a percentage or a count (not both), percentages and counts each
 * grow from phase to phase, and the last is 100% (so the whole target, including devices that join
 * it later, is covered). The last phase has no gate: there is no next phase for it to hold back.
 */
export function validatePhases(phases: CreateRolloutRequest['phases']): void {
  if (phases === undefined) return;
  if (phases.length === 0)
    throw new BulwarkError('rollout_phases_invalid', 'give at least one phase');
  let lastPercent = 0;
  let lastCount = 0;
  phases.forEach((p, i) => {
    const where = `phase ${i + 1}`;
    if ((p.percent === undefined) === (p.count === undefined))
      throw new BulwarkError('rollout_phases_invalid', `${where}: give a percent or a count`);
    if (p.percent !== undefined) {
      if (!(p.percent > lastPercent && p.percent <= 100))
        throw new BulwarkError(
          'rollout_phases_invalid',
          `${where}: percentages must grow up to 100`,
        );
      lastPercent = p.percent;
    }
    if (p.count !== undefined) {
      if (!(Number.isInteger(p.count) && p.count > lastCount))
        throw new BulwarkError('rollout_phases_invalid', `${where}: counts must grow`);
      lastCount = p.count;
    }
    if (p.successGate !== undefined && !(p.successGate >= 0 && p.successGate <= 100))
      throw new BulwarkError('rollout_phases_invalid', `${where}: a gate is a percentage`);
  });
  const last = phases[phases.length - 1];
  if (last?.percent !== 100)
    throw new BulwarkError('rollout_phases_invalid', 'the last phase must be 100% of the target');
  if (last.successGate !== undefined)
    throw new BulwarkError('rollout_phases_invalid', 'the last phase has no next phase to gate');
}
