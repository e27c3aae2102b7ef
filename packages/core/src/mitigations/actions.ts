/**
 * What each mitigation action does, would do, and how it is undone (decision 0036). Every action
 * goes through the service that owns the thing it changes — DeviceService for the state (so the
 * `device.state_changed` event cuts live sessions on every node), PkiService for credentials,
 * TwinService for the desired state, UpdateJobService for jobs, AlertService for notices — so a
 * mitigation is exactly what a person doing the same through the API would cause.
 */
import { BulwarkError, CANCELABLE_UPDATE_JOB_STATES, type TwinValue } from '@bulwark/protocol';
import type { AlertService } from '../alerts/alert-service.js';
import type { DeviceService } from '../devices/device-service.js';
import type { TwinService } from '../management/twin-service.js';
import type { Actor } from '../management/signals.js';
import type { PkiService } from '../pki/pki-service.js';
import type { AlertSeverity } from '../ports/alerts.js';
import type { MitigationAction, MitigationParams, MitigationRecord } from '../ports/mitigations.js';
import type { Device } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { UpdateJobService } from '../updates/job-service.js';
import { MITIGATION_NOTICE_KIND, restoringPatch } from './policy.js';

/** The services the actions act through. */
export interface ActionDeps {
  storage: Pick<Storage, 'pki' | 'deviceKeys' | 'firmware' | 'twins'>;
  devices: DeviceService;
  pki: PkiService;
  twins: TwinService;
  updates: UpdateJobService;
  alerts: AlertService;
}

/** What an action will do: the lines to record, and `run`, which does it (absent: nothing to do). */
export interface ActionPlan {
  summary: string[];
  /** Does it and returns what a revert restores (null: nothing to restore). */
  run?: () => Promise<MitigationParams | null>;
}

/** Who acts and why, as the underlying services record it. */
export interface ActionContext {
  actor: Actor;
  alertId: string | null;
  policyId: string | null;
  reason: string | null;
}

/** A string parameter (checked by checkParams), else `fallback`. */
const str = (v: TwinValue | undefined, fallback: string): string =>
  typeof v === 'string' ? v : fallback;

const stateLine = (from: string, to: string) =>
  `set the device state ${from} → ${to}` +
  (to === 'quarantined'
    ? ': its live sessions are cut on every node and its channel data refused until released'
    : ': it may use its channels again');

/**
 * Plans `action` on `device` from the current state (reading only). The plan of a dry run is
 * recorded and never run; an applied action records the same summary and runs it.
 */
export async function planAction(
  d: ActionDeps,
  device: Device,
  action: MitigationAction,
  params: MitigationParams,
  ctx: ActionContext,
): Promise<ActionPlan> {
  const { orgId, id } = device;
  if (device.state === 'decommissioned')
    throw new BulwarkError('device_decommissioned', 'the device is decommissioned');
  switch (action) {
    case 'quarantine':
      if (device.state === 'quarantined')
        return { summary: ['the device is already quarantined: nothing to do'] };
      return {
        summary: [stateLine(device.state, 'quarantined')],
        run: async () => {
          await d.devices.update(orgId, id, { state: 'quarantined' });
          return { state: device.state };
        },
      };
    case 'release':
      if (device.state !== 'quarantined')
        throw new BulwarkError('conflict', `the device is ${device.state}, not quarantined`);
      return {
        summary: [stateLine('quarantined', 'active')],
        run: async () => {
          await d.devices.update(orgId, id, { state: 'active' });
          return { state: 'quarantined' };
        },
      };
    case 'revoke': {
      const reason = str(params.reason, 'keyCompromise');
      // One credential when the parameters name it (it must be live), else every live one.
      const serial = typeof params.serial === 'string' ? params.serial.toUpperCase() : undefined;
      const keyId = typeof params.keyId === 'string' ? params.keyId : undefined;
      const one = serial !== undefined || keyId !== undefined;
      const certs = (await d.storage.pki.listCertificates(orgId, id)).filter(
        (c) => c.revokedAt === null && (one ? c.serial.toUpperCase() === serial : true),
      );
      const keys = (await d.storage.deviceKeys.listForDevice(orgId, id)).filter(
        (k) => k.revokedAt === null && (one ? k.id === keyId : true),
      );
      if (one && certs.length + keys.length === 0)
        throw new BulwarkError(
          'not_found',
          serial !== undefined
            ? `the device has no live certificate ${serial}`
            : `the device has no live key ${keyId}`,
        );
      if (certs.length === 0 && keys.length === 0)
        return { summary: ['the device has no live certificate or key: nothing to revoke'] };
      return {
        summary: [
          ...certs.map((c) => `revoke certificate ${c.serial} (${reason}); it goes in the CRL`),
          ...keys.map((k) => `revoke device key ${k.id}`),
          'its live sessions are cut; it must enroll again with a new token (not reversible)',
        ],
        run: async () => {
          if (one) for (const c of certs) await d.pki.revoke(orgId, id, c.serial, reason);
          else if (certs.length > 0) await d.pki.revokeAll(orgId, id, reason);
          for (const k of keys) await d.pki.revokeDeviceKey(orgId, id, k.id);
          return null;
        },
      };
    }
    case 'set_desired': {
      const patch = params.patch as { [k: string]: TwinValue };
      const current = await d.storage.twins.getDesired(orgId, id);
      const restore = restoringPatch(current?.state ?? {}, patch);
      return {
        summary: [
          `merge ${JSON.stringify(patch)} into the desired state (version ${current?.version ?? 0})`,
          `a revert applies ${JSON.stringify(restore)}`,
        ],
        run: async () => {
          const twin = await d.twins.patchDesired(orgId, id, patch, { actor: ctx.actor });
          return { restore, version: twin.desired.version };
        },
      };
    }
    case 'start_update': {
      const artifactId = str(params.artifactId, '');
      const artifact = await d.storage.firmware.getArtifact(orgId, artifactId);
      if (!artifact) throw new BulwarkError('not_found', 'no such firmware artifact');
      const timeout = typeof params.timeoutSeconds === 'number' ? params.timeoutSeconds : undefined;
      return {
        summary: [
          `start an update job of ${artifact.name} (${artifact.version}, artifact ${artifact.id})`,
        ],
        run: async () => {
          const job = await d.updates.deploy(orgId, id, artifactId, {
            actor: ctx.actor,
            ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
          });
          return { jobId: job.id };
        },
      };
    }
    case 'notify': {
      const severity = (params.severity ?? 'high') as AlertSeverity;
      const title = str(params.title, `Mitigation notice: device ${device.name}`);
      return {
        summary: [`raise a ${severity} ${MITIGATION_NOTICE_KIND} alert: ${title}`],
        run: async () => {
          const r = await d.alerts.raise({
            orgId,
            deviceId: id,
            kind: MITIGATION_NOTICE_KIND,
            severity,
            title,
            evidence: {
              source: 'mitigation',
              alertId: ctx.alertId,
              policyId: ctx.policyId,
              reason: ctx.reason,
            },
          });
          return { noticeAlertId: r.alert.id };
        },
      };
    }
    case 'block_source':
      // An action on an address, planned by block-source.ts (the service never comes here).
      throw new BulwarkError('mitigation_invalid', 'block_source acts on a source, not a device');
  }
}

/** Why a record cannot be reverted, or null when it can (its state is checked by the caller). */
export function notReversible(m: MitigationRecord): string | null {
  if (m.state === 'dry_run') return 'a dry run changed nothing: there is nothing to revert';
  if (m.state === 'failed') return 'the action failed: there is nothing to revert';
  if (m.state === 'skipped') return 'the action was skipped: there is nothing to revert';
  if (m.state === 'reverted') return 'the action was already reverted';
  if (m.action === 'revoke')
    return 'a revocation is final: a revoked certificate stays in the CRL and a revoked key stays dead; the device must enroll again with a new token';
  if (m.action === 'notify')
    return 'a notification cannot be taken back; resolve the notice alert instead';
  if (m.previous === null) return 'the action changed nothing: there is nothing to revert';
  return null;
}

/** Undoes an applied action; returns the lines to audit. */
export async function revertAction(
  d: ActionDeps,
  m: MitigationRecord,
  actor: Actor,
): Promise<string[]> {
  const prev = m.previous ?? {};
  if (m.deviceId === null)
    throw new BulwarkError('mitigation_not_reversible', notReversible(m) ?? 'not reversible');
  const deviceId = m.deviceId;
  switch (m.action) {
    case 'quarantine':
    case 'release': {
      const device = await d.devices.get(m.orgId, deviceId);
      const now = m.action === 'quarantine' ? 'quarantined' : 'active';
      if (device.state !== now)
        throw new BulwarkError(
          'mitigation_not_reversible',
          `the device is ${device.state} now, not ${now}: someone changed it since; it is left as it is`,
        );
      const to = str(prev.state, 'active') as Device['state'];
      await d.devices.setState(m.orgId, deviceId, to);
      return [`set the device state ${now} → ${to}`];
    }
    case 'set_desired': {
      const restore = prev.restore as { [k: string]: TwinValue };
      await d.twins.patchDesired(m.orgId, deviceId, restore, { actor });
      return [`merged ${JSON.stringify(restore)} into the desired state`];
    }
    case 'start_update': {
      const jobId = str(prev.jobId, '');
      const job = await d.updates.get(m.orgId, jobId);
      if (!CANCELABLE_UPDATE_JOB_STATES.includes(job.state))
        throw new BulwarkError(
          'mitigation_not_reversible',
          `update job ${jobId} is ${job.state}: only a job still ${CANCELABLE_UPDATE_JOB_STATES.join(', ')} can be canceled`,
        );
      const after = await d.updates.cancel(m.orgId, jobId, actor);
      return [
        after.state === 'canceled'
          ? `canceled update job ${jobId}`
          : `asked the device to cancel update job ${jobId} (it was ${after.state})`,
      ];
    }
    default:
      throw new BulwarkError('mitigation_not_reversible', notReversible(m) ?? 'not reversible');
  }
}
