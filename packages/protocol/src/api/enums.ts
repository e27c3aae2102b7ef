/**
 * The API's enumerations as plain data, apart from the schemas built from them, so a client can
 * use them without loading the schema library (see lite.ts).
 */
export const DEVICE_STATES = ['provisioned', 'active', 'quarantined', 'decommissioned'] as const;

export const LOCATION_KINDS = ['site', 'building', 'floor', 'room'] as const;

/** Named permissions. `port:<name>` grants access to a named application port on devices. */
export const PERMISSIONS = [
  'org:manage',
  'users:manage',
  'api-keys:manage',
  'audit:read',
  'metrics:read',
  'devices:read',
  'devices:manage',
  'firmware:update',
  'application:update',
  'network:configure',
  'notifications:manage',
] as const;

/** Alert severities, lowest first (decision 0030). */
export const ALERT_SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;

/** Alert states: open → acknowledged → resolved. */
export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;

/**
 * The alert kinds Bulwark raises (and the detectors of issue 14 add); a kind is an open-ended
 * string, so this list documents rather than limits.
 */
export const KNOWN_ALERT_KINDS = [
  'device_offline',
  'rollout_paused',
  'auto_upgrade_paused',
  'credential_conflict',
  'auth_bruteforce',
  'cloned_certificate',
  'message_flood',
  'new_listening_port',
  'disallowed_connection',
  'telemetry_rule',
] as const;

export const ROLES = ['owner', 'admin', 'operator', 'viewer'] as const;

export const COMMAND_STATES = [
  'queued',
  'delivered',
  'succeeded',
  'failed',
  'expired',
  'canceled',
] as const;

/** Weekday names of a maintenance window. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** Most devices one import request creates (one transaction; the body is bounded accordingly). */
export const IMPORT_MAX_ROWS = 1000;
