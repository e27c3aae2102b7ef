export * from './ports/index.js';
export * from './shared/ids.js';
export * from './shared/hash.js';
export * from './shared/secret-box.js';
export * from './identity/principal.js';
export * from './identity/permissions.js';
export * from './identity/password.js';
export * from './identity/totp.js';
export * from './identity/config.js';
export { FailureThrottle, type ThrottlePolicy } from './identity/failure-throttle.js';
export { checkGrant, checkManage, checkScopedGrant } from './identity/grant-policy.js';
export { DeviceAccess, placeOfScope, type Holder } from './identity/device-scope.js';
export { ScopedGrantService } from './identity/scoped-grant-service.js';
export * from './identity/auth-service.js';
export type { SessionPair } from './identity/session-tokens.js';
export * from './identity/api-key-service.js';
export * from './identity/org-service.js';
export * from './devices/location-service.js';
export * from './devices/device-service.js';
export * from './devices/saved-view-service.js';
export * from './management/metrics-history.js';
export * from './devices/device-psk-service.js';
export * from './devices/device-rpk-service.js';
export * from './devices/bootstrap-psk-service.js';
export * from './pki/pki-service.js';
export * from './tickets/ticket-service.js';
export * from './tunnels/index.js';
export * from './firmware/byte-range.js';
export * from './firmware/firmware-repo-service.js';
export * from './firmware/artifact-usage.js';
export * from './firmware/release-expiry.js';
export * from './audit/audit-service.js';
export * from './shared/cursor.js';
export * from './messaging/batch-writer.js';
export * from './messaging/ttl-cache.js';
export * from './messaging/messaging-service.js';
export * from './messaging/memory-bus.js';
export * from './management/signals.js';
export * from './management/twin-json.js';
export * from './management/device-payloads.js';
export * from './management/twin-service.js';
export * from './management/command-service.js';
export * from './management/bulk-actions.js';
export * from './management/presence-service.js';
export * from './updates/job-service.js';
export * from './updates/job-history.js';
export * from './updates/job-report.js';
export * from './updates/update-payloads.js';
export * from './updates/rollout-window.js';
export * from './updates/rollout-engine.js';
export * from './updates/rollout-inputs.js';
export * from './updates/rollout-validate.js';
export * from './updates/rollout-service.js';
export * from './updates/auto-upgrade.js';
export * from './updates/auto-upgrade-gate.js';
export * from './events/memory-events.js';
export * from './alerts/alert-service.js';
export * from './alerts/kinds.js';
export { NotificationService, openEndpointSecrets } from './notifications/notification-service.js';
export { startNotificationRouter, type NotificationRouter } from './notifications/router.js';
export {
  MaintenanceWindowService,
  MAX_OPEN_WINDOWS,
  windowStatus,
} from './notifications/maintenance-service.js';
export {
  WINDOW_HOLD,
  WINDOW_RECHECK_MS,
  coveringWindow,
  heldUntil,
  windowCovers,
} from './notifications/maintenance.js';
export {
  DeliveryWorker,
  type AttemptReport,
  type DeliveryWorkerDeps,
  type TickResult,
} from './notifications/delivery-worker.js';
export * from './notifications/policy.js';
export * from './notifications/signature.js';
export { planDeliveries, ruleMatches, locationPath } from './notifications/routing.js';
export {
  MitigationService,
  type MitigateRequest,
  type MitigationCaller,
  type PolicyInput,
} from './mitigations/mitigation-service.js';
export { startMitigationRunner, type MitigationRunner } from './mitigations/runner.js';
export {
  ACTION_PERMISSIONS,
  DEVICE_PUNISHING_ACTIONS,
  MITIGATION_ACTIONS,
  MITIGATION_NOTICE_KIND,
  POLICY_ACTIONS,
  checkKinds,
  checkParams,
  missingForAction,
  policyMatches,
  restoringPatch,
  TARGET_ALERT_KINDS,
  targetRefusal,
} from './mitigations/policy.js';
export { notReversible } from './mitigations/actions.js';
export { alertSnapshot, emailContent, webhookBody } from './notifications/payload.js';
export * from './edge/principal.js';
export * from './edge/policy.js';
export * from './edge/admission.js';
export * from './edge/access-changes.js';
export * from './edge/credential-conflicts.js';
export * from './edge/pki-events.js';
export * from './edge/edge-throttle.js';
export * from './edge/address.js';
export * from './edge/source-blocks.js';
export * from './edge/revocation-sweep.js';
export * from './edge/certificate-cache.js';
export { parsedPeerCertificates } from './pki/issued-here.js';
export * from './edge/session-ticket-keys.js';
export * from './audit/audit-chain.js';
export * from './device-plane/index.js';
export * from './provisioning/claim-service.js';
export * from './provisioning/device-import.js';
export { globMatch, hardwareAllowed } from './provisioning/hardware-match.js';
export * from './firmware/advisories.js';
export * from './checks/types.js';
export { loadSnapshot, type OrgSnapshot, type SnapshotStorage } from './checks/snapshot.js';
export { runOrgChecks, ORG_CHECK_IDS, HUB_CHECK_IDS } from './checks/org-checks.js';
export {
  raiseFindingAlert,
  resolveFindingAlerts,
  findingAlertKey,
  alertsFor,
} from './checks/finding-alerts.js';
export * from './checks/check-service.js';
export * from './logs/device-log-service.js';
export { parseDeviceLogBatch } from './logs/log-payloads.js';
export { compileLogRegex, REGEX_SCAN_BOUND } from './logs/log-grep.js';
export { RuleService, type RuleServiceDeps } from './rules/rule-service.js';
export { RuleEngine, type RuleEngineStats } from './rules/rule-engine.js';
export { RuleActions, type RuleOccasion } from './rules/rule-actions.js';
export {
  RuleEvaluator,
  DEFAULT_RULE_REFIRE_MS,
  compileRule,
  type CompiledRule,
  type RuleHit,
  type RuleTransition,
  type RuleOutcome,
  type PairState,
  type RuleEvaluatorOptions,
} from './rules/evaluator.js';
export {
  checkRuleDefinition,
  twinPatchFor,
  RULE_RESERVED_TWIN_SECTIONS,
} from './rules/validate.js';
export {
  compileCondition,
  describeCondition,
  recordValue,
  type RuleValue,
} from './rules/condition.js';
export {
  DETECT_RULES,
  checkRuleUpdate,
  effectiveParams,
  type DetectRule,
  type DetectRuleId,
  type DetectRuleKind,
  type RuleParams,
  type RuleUpdate,
} from './detect/rules.js';
export { BucketCounter, BUCKET_MS } from './detect/buckets.js';
export { Baseline, bandOf, median, mad, groupStats, MAD_SCALE } from './detect/baseline.js';
export { Gates, type Gate, type DetectTarget } from './detect/gates.js';
export { detectAlerts, type DetectAlerts } from './detect/detect-alerts.js';
export { DetectEngine, type DetectEngineDeps } from './detect/engine.js';
export type { DetectDeviceState } from './detect/device-state.js';
export {
  DetectService,
  type OrgDetectRule,
  type DeviceDetectView,
  type DeviceRuleView,
} from './detect/detect-service.js';
export * from './gateway/gateway-sites.js';
export * from './gateway/gateway-uplink.js';
export * from './gateway/gateway-rules.js';
export { locationSubtree, scopeTakesDevice } from './rules/scope.js';

export * from './gateway/gateway-plane.js';
export * from './lwm2m/index.js';
