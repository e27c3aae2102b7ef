/**
 * Alert kinds and severities (decision 0030). A kind is an open-ended string so detectors add
 * their own; the ones Bulwark raises are listed here with the severity they get unless the raiser
 * says otherwise.
 */
import type { AlertSeverity } from '../ports/alerts.js';

/** Severities, lowest first: a rule's `minSeverity` matches this one and every later one. */
export const ALERT_SEVERITY_ORDER: readonly AlertSeverity[] = [
  'info',
  'low',
  'medium',
  'high',
  'critical',
];

/** Is `s` at least `min`? */
export function severityAtLeast(s: AlertSeverity, min: AlertSeverity): boolean {
  return ALERT_SEVERITY_ORDER.indexOf(s) >= ALERT_SEVERITY_ORDER.indexOf(min);
}

/** The grammar of a kind (and of the default dedup key's first part). */
export const ALERT_KIND_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** The kinds raised today or planned by the detectors, with their default severity. */
export const KNOWN_ALERT_KINDS: Readonly<Record<string, AlertSeverity>> = {
  /** A controlled device lost its link without saying goodbye (presence). */
  device_offline: 'medium',
  /** A rollout paused itself (failure threshold or success gate). */
  rollout_paused: 'high',
  /** An auto-upgrade policy paused itself. */
  auto_upgrade_paused: 'high',
  /** One device credential is used from several places at once. */
  credential_conflict: 'critical',
  /** A fleet audit check found something high or critical about the device (decision 0031). */
  audit_finding: 'high',
  /** Detectors (issue 14): */
  auth_bruteforce: 'high',
  cloned_certificate: 'critical',
  message_flood: 'medium',
  new_listening_port: 'medium',
  disallowed_connection: 'high',
  connection_churn: 'medium',
  telemetry_rule: 'medium',
};

/** The severity a kind gets when its raiser names none (`medium` for unknown kinds). */
export function defaultSeverity(kind: string): AlertSeverity {
  return Object.hasOwn(KNOWN_ALERT_KINDS, kind) ? KNOWN_ALERT_KINDS[kind]! : 'medium';
}

/** The dedup key of an alert raised without one: one active alert per device and kind. */
export function defaultDedupKey(kind: string, deviceId: string | null): string {
  return `${kind}:${deviceId ?? 'fleet'}`;
}
