/**
 * The one place audit findings reach the AlertService (decision 0031), kept to one call so the
 * alert rework (severity, evidence, deduplication) changes one function.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { FindingRecord } from '../ports/checks.js';

/** Does a finding of this severity need a person now? */
export const alertsFor = (f: Pick<FindingRecord, 'severity'>): boolean =>
  f.severity === 'high' || f.severity === 'critical';

/**
 * Raises an `audit_finding` alert for a newly opened high or critical finding. Today's alerts
 * belong to one device, so the alert goes on the first device the finding names; a finding
 * about no device (a user, a key, the organization, the hub) is listed but raises none yet.
 */
export async function raiseFindingAlert(
  alerts: Pick<AlertService, 'open'>,
  f: FindingRecord,
): Promise<boolean> {
  const device = f.resources.find((r) => r.type === 'device');
  if (device === undefined) return false;
  const opened = await alerts.open(f.orgId, device.id, 'audit_finding', {
    findingId: f.id,
    checkId: f.checkId,
    severity: f.severity,
    message: f.message,
  });
  return opened !== undefined;
}
