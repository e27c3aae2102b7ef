/**
 * The one place rules on telemetry touch the alert service (decision 0035): each (rule, device)
 * pair has its own alert, keyed `telemetry_rule:{rule}:{device}` (decision 0030's dedup key), so
 * two rules firing on one device raise two alerts, and a rule firing again while its alert is
 * active counts an occurrence instead of opening another.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { AlertRecord } from '../ports/alerts.js';

/** The dedup key of a rule's alert on a device. */
export const ruleAlertKey = (ruleId: string, deviceId: string): string =>
  `telemetry_rule:${ruleId}:${deviceId}`;

/** What a firing says about itself in the alert's detail. */
export interface RuleAlertDetail {
  ruleId: string;
  ruleName: string;
  record: string;
  value: number | string | boolean;
  /** The condition in words, e.g. `> 80`. */
  condition: string;
  forSeconds: number;
  channelId: string;
  /** When it fired on a gateway while the hub heard nothing (RFC 3339); absent on the hub. */
  firedAt?: string;
}

/** Raises the rule's alert on the device: `alreadyOpen` when it was active and counted again. */
export async function raiseRuleAlert(
  alerts: Pick<AlertService, 'raise'>,
  orgId: string,
  deviceId: string,
  d: RuleAlertDetail,
): Promise<{ alert: AlertRecord; alreadyOpen: boolean }> {
  const { alert, outcome } = await alerts.raise({
    orgId,
    deviceId,
    kind: 'telemetry_rule',
    title: `Rule ${d.ruleName}: ${d.record} ${d.condition}`,
    evidence: { ...d },
    dedupKey: ruleAlertKey(d.ruleId, deviceId),
  });
  return { alert, alreadyOpen: outcome === 'repeated' };
}

/** Resolves the rule's active alert on the device; returns how many were resolved (0 or 1). */
export async function resolveRuleAlert(
  alerts: Pick<AlertService, 'resolveKey'>,
  orgId: string,
  ruleId: string,
  deviceId: string,
): Promise<number> {
  return (await alerts.resolveKey(orgId, ruleAlertKey(ruleId, deviceId))) === undefined ? 0 : 1;
}
