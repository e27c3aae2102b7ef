/**
 * @bulwark/store-sql: the table layout both SQL adapters share — row shapes, row → record
 * mapping, and the few fragments and helpers that are the same in SQLite and PostgreSQL.
 */
export type { ColumnCodec, ColumnTypes } from './columns.js';
export { pageOf } from './page.js';
export {
  toOrg,
  toUserWith,
  USER_COLUMNS,
  toMembershipWith,
  toSession,
  LIVE_SESSION_SQL,
  toApiKeyWith,
  type OrgRow,
  type UserRow,
  type MembershipRow,
  type SessionRow,
  type ApiKeyRow,
} from './identity-rows.js';
export {
  toDeviceWith,
  DEVICE_COLUMNS,
  deviceOrderBy,
  toDeviceKey,
  toLocation,
  type DeviceRow,
  type DeviceKeyRow,
  type LocationRow,
} from './device-rows.js';
export {
  toCa,
  toCert,
  certValues,
  CERT_COLUMNS,
  toToken,
  CERTS_NEWEST_FIRST,
  type CaRow,
  type CertRow,
  type TokenRow,
} from './pki-rows.js';
export { lineageAndKeyedAuditSchema } from './lineage-schema.js';
export {
  toAuditEvent,
  toAuditHead,
  auditEventValues,
  type AuditRow,
  type AuditHeadRow,
} from './audit-rows.js';
export {
  toChannelWith,
  toConnectionWith,
  type ChannelRow,
  type ConnectionRow,
} from './channel-rows.js';
export { toEnvelope, messageValues, type MessageRow } from './message-rows.js';
export {
  BUCKET_AGGREGATES,
  toBucket,
  aggregateWindow,
  type BucketRow,
  type AggregateWindow,
} from './aggregates.js';
export { toTicketWith, ticketValues, type TicketRow } from './ticket-rows.js';
export {
  createManagementStores,
  type ManagementStores,
  type SqlRunner,
} from './management-stores.js';
export { managementSchema } from './management-schema.js';
export {
  ARTIFACT_COLUMNS,
  artifactValues,
  toArtifact,
  toFirmwareRoot,
  type ArtifactRow,
  type FirmwareRootRow,
} from './firmware-rows.js';
export {
  createRolloutStores,
  rolloutSchema,
  toRollout,
  type RolloutStores,
  type RolloutRow,
} from './rollout-stores.js';
export { firmwarePolicyGateSchema, type FirmwarePolicyRow } from './firmware-policy-store.js';
export { createUpdateJobStore } from './update-job-store.js';
export {
  toUpdateJob,
  updateJobSchema,
  OPEN_UPDATE_STATES_SQL,
  UPDATE_JOB_CANCEL_REQUEST_SQL,
  type UpdateJobRow,
} from './update-job-rows.js';
export {
  mqttStateSchema,
  toMqttRetained,
  toMqttSession,
  toMqttQueued,
  mqttSessionValues,
  mqttQueuedValues,
  type MqttRetainedRow,
  type MqttSessionRow,
  type MqttQueueRow,
} from './mqtt-state-rows.js';
export {
  provisioningSchema,
  toClaim,
  CLAIM_COLUMNS,
  claimValues,
  toHardware,
  HARDWARE_COLUMNS,
  hardwareValues,
  DEVICE_INSERT_COLUMNS,
  deviceValues,
  TOKEN_INSERT_COLUMNS,
  type ClaimRow,
  type HardwareRow,
} from './provisioning-rows.js';
export { checksSchema, createAuditCheckStore } from './check-stores.js';
export { createDeviceLogStore, deviceLogSchema } from './device-log-store.js';
export {
  alertLifecycleSchema,
  maintenanceWindowSchema,
  notificationSchema,
} from './alert-schema.js';
export { createAlertStore, toAlert, type AlertRow } from './alert-store.js';
export { createNotificationStore } from './notification-store.js';
export { rulesSchema, createRuleStore } from './rule-stores.js';
export {
  createMitigationStore,
  mitigationSchema,
  mitigationSourceBlocksSchema,
} from './mitigation-store.js';
export { detectSchema, createDetectStore } from './detect-stores.js';
export { createSavedViewStore, savedViewSchema } from './saved-view-store.js';
export { createMetricsHistoryStore, metricsHistorySchema } from './metrics-history-store.js';
