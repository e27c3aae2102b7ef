/**
 * The one place rules on telemetry touch the alert service (decision 0035): it opens and resolves
 * the device's `telemetry_rule` alert through `AlertService.open`/`resolve` only, so the alert
 * rework (severity, evidence, dedup) changes this file and nothing else of the rules.
 *
 * Until alerts carry a dedup key, one `telemetry_rule` alert is open per device: a second rule
 * firing on a device with one open adds no alert (the audit row and `rule.fired` event still say
 * it fired), and a rule resolving on clear resolves the device's open one.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { AlertRecord } from '../ports/alerts.js';

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
}

/** Opens the device's telemetry-rule alert; returns it, or undefined when one is open already. */
export function raiseRuleAlert(
  alerts: Pick<AlertService, 'open'>,
  orgId: string,
  deviceId: string,
  d: RuleAlertDetail,
): Promise<AlertRecord | undefined> {
  return alerts.open(orgId, deviceId, 'telemetry_rule', { ...d });
}

/** Resolves the device's open telemetry-rule alert; returns how many were resolved. */
export function resolveRuleAlert(
  alerts: Pick<AlertService, 'resolve'>,
  orgId: string,
  deviceId: string,
): Promise<number> {
  return alerts.resolve(orgId, deviceId, 'telemetry_rule');
}
