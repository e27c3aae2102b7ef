/**
 * The one place audit findings reach the AlertService (decision 0031), kept to one call so the
 * alert rework (severity, evidence, deduplication) changes one function.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { FindingRecord } from '../ports/checks.js';

/** Does a finding of this severity need a person now? */
export const alertsFor = (f: Pick<FindingRecord, 'severity'>): boolean =>
  f.severity === 'high' || f.severity === 'critical';

/** The dedup key of a finding's alert: one alert per finding, across runs. */
export const findingAlertKey = (findingId: string): string => `audit_finding:${findingId}`;

/**
 * Raises an `audit_finding` alert for a newly opened high or critical finding, with the
 * finding's severity and message: on the first device it names, or fleet-wide when it names no
 * device (a user, a key, the organization, the hub).
 */
export async function raiseFindingAlert(
  alerts: Pick<AlertService, 'raise'>,
  f: FindingRecord,
): Promise<boolean> {
  const device = f.resources.find((r) => r.type === 'device');
  const { outcome } = await alerts.raise({
    orgId: f.orgId,
    deviceId: device?.id ?? null,
    kind: 'audit_finding',
    severity: f.severity,
    title: f.message,
    evidence: {
      findingId: f.id,
      checkId: f.checkId,
      severity: f.severity,
      message: f.message,
      resources: f.resources.map((r) => `${r.type}:${r.id}`),
    },
    dedupKey: findingAlertKey(f.id),
  });
  return outcome !== 'repeated';
}

/** The findings are gone: their alerts (if any is active) resolve with them. */
export async function resolveFindingAlerts(
  alerts: Pick<AlertService, 'resolveKey'>,
  orgId: string,
  findingIds: readonly string[],
): Promise<void> {
  for (const id of findingIds) await alerts.resolveKey(orgId, findingAlertKey(id));
}
