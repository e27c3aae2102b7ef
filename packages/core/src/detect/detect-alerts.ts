/**
 * The one place detection raises and ends alerts (decision 0034), so the alert rework (severity,
 * evidence, dedup key, lifecycle) changes this file only: a rule's alert kind is its id, and the
 * structured evidence goes into the alert's `detail` with the rule and its severity.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { DetectEvidence } from '../ports/events.js';
import type { FindingSeverity } from '../ports/checks.js';
import type { TwinValue } from '@bulwark/protocol';
import type { DetectRuleId } from './rules.js';

/** What the engine asks of alerts. */
export interface DetectAlerts {
  /** Opens the device's alert of the rule; false when one was already open. */
  open(
    orgId: string,
    deviceId: string,
    ruleId: DetectRuleId,
    severity: FindingSeverity,
    evidence: DetectEvidence,
  ): Promise<boolean>;
  /** Resolves it; false when none was open. */
  resolve(orgId: string, deviceId: string, ruleId: DetectRuleId): Promise<boolean>;
}

/** Detection's alerts on the one AlertService. */
export function detectAlerts(alerts: Pick<AlertService, 'open' | 'resolve'>): DetectAlerts {
  return {
    async open(orgId, deviceId, ruleId, severity, evidence) {
      const detail = JSON.parse(JSON.stringify({ rule: ruleId, severity, ...evidence })) as {
        [key: string]: TwinValue;
      };
      return (await alerts.open(orgId, deviceId, ruleId, detail)) !== undefined;
    },
    async resolve(orgId, deviceId, ruleId) {
      return (await alerts.resolve(orgId, deviceId, ruleId)) > 0;
    },
  };
}
