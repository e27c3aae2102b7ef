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
