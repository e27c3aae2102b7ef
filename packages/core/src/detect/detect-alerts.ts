/**
 * The one place detection raises and ends alerts (decision 0034): a rule's alert kind is its id.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { DetectEvidence } from '../ports/events.js';
import type { FindingSeverity } from '../ports/checks.js';
import type { TwinValue } from '@bulwark/protocol';
import type { DetectRuleId } from './rules.js';

/** What the engine asks of alerts. */
export interface DetectAlerts {
  /**
   * Opens the alert of the rule on the device (or, with no device, on the counted subject: a
   * source guessing identities of no device); false when one was already open.
   */
  open(
    orgId: string,
    deviceId: string | null,
    ruleId: DetectRuleId,
    severity: FindingSeverity,
    evidence: DetectEvidence,
    subject: string,
  ): Promise<boolean>;
  /** Resolves it; false when none was open. */
  resolve(
    orgId: string,
    deviceId: string | null,
    ruleId: DetectRuleId,
    subject: string,
  ): Promise<boolean>;
}

/**
 * The dedup key of a rule's alert: one active alert per (rule, device), or per (rule, subject)
 * when it names no device (`auth_bruteforce:source:<address>|org:<org>`).
 */
export const detectAlertKey = (
  ruleId: DetectRuleId,
  deviceId: string | null,
  subject = '',
): string => `${ruleId}:${deviceId ?? subject}`;

/** Why it fired, in words, for the alert's title. */
function titleOf(ruleId: DetectRuleId, e: DetectEvidence): string {
  if (e.metric === 'certificate_lifetime_used')
    return `${ruleId.replaceAll('_', ' ')}: renewed at ${Math.round(e.observed * 100)} % of the certificate's lifetime (expected at least ${Math.round((e.expected.low ?? 0) * 100)} %)`;
  if (typeof e['lockedBy'] === 'string')
    return `${ruleId.replaceAll('_', ' ')}: ${e.observed} failed authentications from ${typeof e['source'] === 'string' ? e['source'] : 'one source'}, then locked by ${e['lockedBy']}`;
  const band =
    e.expected.high !== null && e.observed > e.expected.high
      ? `above ${e.expected.high}`
      : e.expected.low !== null && e.observed < e.expected.low
        ? `below ${e.expected.low}`
        : 'outside its band';
  return `${ruleId.replaceAll('_', ' ')}: ${e.metric} ${e.observed} over ${e.windowSeconds} s, ${band} (${e.basis})`;
}

/**
 * Detection's alerts on the one AlertService (decision 0030's lifecycle): the rule's severity,
 * the evidence (metric, window, expected band, observed value, basis) as the alert's evidence,
 * and one dedup key per (rule, device).
 */
export function detectAlerts(alerts: Pick<AlertService, 'raise' | 'resolveKey'>): DetectAlerts {
  return {
    async open(orgId, deviceId, ruleId, severity, evidence, subject) {
      const json = JSON.parse(JSON.stringify({ rule: ruleId, ...evidence })) as {
        [key: string]: TwinValue;
      };
      const { outcome } = await alerts.raise({
        orgId,
        deviceId,
        kind: ruleId,
        severity,
        title: titleOf(ruleId, evidence),
        evidence: json,
        dedupKey: detectAlertKey(ruleId, deviceId, subject),
      });
      return outcome !== 'repeated';
    },
    async resolve(orgId, deviceId, ruleId, subject) {
      return (
        (await alerts.resolveKey(orgId, detectAlertKey(ruleId, deviceId, subject))) !== undefined
      );
    },
  };
}
