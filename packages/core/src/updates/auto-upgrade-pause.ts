/**
 * An auto-upgrade policy pausing itself (issue 13, decision 0011), as a rollout does: the state
 * change (compare-and-set, so two nodes pause it once), an audit event by `system`, and an
 * `auto_upgrade_paused` alert on the device of the newest failure, resolved on resume, set or clear.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Clock } from '../ports/clock.js';
import type { FirmwarePolicyRecord } from '../ports/rollouts.js';
import type { Storage } from '../ports/storage.js';
import type { UpdateJobRecord } from '../ports/updates.js';
import { FAILED_STATES } from './rollout-engine.js';

/** What a pause needs. */
export interface PolicyPauseDeps {
  storage: Storage;
  clock: Clock;
  audit: AuditService;
  alerts: AlertService;
  nodeId: string;
}

/** The key of a policy within the hub (organization and device type). */
export const policyKey = (p: Pick<FirmwarePolicyRecord, 'orgId' | 'deviceType'>): string =>
  `${p.orgId}\u0000${p.deviceType}`;

/** Pauses an active policy for `reason`; `jobs` (newest first) name the device of the alert. */
export async function pausePolicy(
  d: PolicyPauseDeps,
  p: FirmwarePolicyRecord,
  reason: string,
  detail: Record<string, number>,
  jobs: UpdateJobRecord[],
): Promise<void> {
  const deviceId = jobs.find((j) => FAILED_STATES.includes(j.state))?.deviceId;
  const pauseDetail = { ...detail, ...(deviceId ? { deviceId } : {}) };
  const paused = await d.storage.firmwarePolicies.update(
    p.orgId,
    p.deviceType,
    p.setAt,
    ['active'],
    { state: 'paused', pauseReason: reason, pauseDetail, updatedAt: d.clock.now() },
  );
  if (!paused) return;
  await d.audit.record({
    orgId: p.orgId,
    actorType: 'system',
    actorId: null,
    action: 'firmware_policy.paused',
    targetType: 'firmware_policies',
    targetId: p.deviceType,
    source: d.nodeId,
    result: 'success',
    detail: { artifactId: p.artifactId, reason, ...pauseDetail },
  });
  if (deviceId !== undefined)
    await d.alerts.open(p.orgId, deviceId, 'auto_upgrade_paused', {
      type: p.deviceType,
      artifactId: p.artifactId,
      reason,
      ...detail,
    });
}

/** Resolves the alert of a paused policy (it is resumed, set anew or cleared). */
export async function resolvePolicyAlert(
  d: Pick<PolicyPauseDeps, 'alerts'>,
  p: FirmwarePolicyRecord,
): Promise<void> {
  const deviceId = p.pauseDetail?.['deviceId'];
  if (p.state === 'paused' && typeof deviceId === 'string')
    await d.alerts.resolve(p.orgId, deviceId, 'auto_upgrade_paused');
}
