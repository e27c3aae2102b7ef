/**
 * The API's enumerations as plain data, apart from the schemas built from them, so a client can
 * use them without loading the schema library (see lite.ts).
 */
export const DEVICE_STATES = ['provisioned', 'active', 'quarantined', 'decommissioned'] as const;

/** How `GET /devices` can sort: a column, descending with a leading `-`. */
export const DEVICE_SORTS = [
  'name',
  '-name',
  'type',
  '-type',
  'state',
  '-state',
  'firmwareVersion',
  '-firmwareVersion',
  'lastSeenAt',
  '-lastSeenAt',
  'createdAt',
  '-createdAt',
] as const;

/** The deepest position a sorted device list may start at (a bound on OFFSET's scan). */
export const MAX_DEVICE_OFFSET = 1_000_000;

export const LOCATION_KINDS = ['site', 'building', 'floor', 'room'] as const;

/** Named permissions. `port:<name>` grants access to a named application port on devices. */
export const PERMISSIONS = [
  'org:manage',
  'users:manage',
  'api-keys:manage',
  'audit:read',
  // Run the fleet audit checks and suppress their findings (decision 0031); reading them is
  // `audit:read`.
  'checks:manage',
  // Tune or disable the detection rules of the organization (decision 0034); reading them and a
  // device's baselines is `audit:read`.
  'detect:manage',
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
  'renewal_outside_schedule',
  'telemetry_rule',
] as const;

/** What a mitigation does to a device (decision 0036). */
export const MITIGATION_ACTIONS = [
  'quarantine',
  'release',
  'revoke',
  'set_desired',
  'start_update',
  'notify',
  'block_source',
] as const;

/** A mitigation action's state: applied, a dry run, failed, or reverted. */
export const MITIGATION_STATES = ['applied', 'dry_run', 'failed', 'reverted', 'skipped'] as const;

export const ROLES = ['owner', 'admin', 'operator', 'viewer'] as const;

/**
 * The permissions a scoped grant may carry (decision 0046): those that act on one device. Besides
 * these, `port:<name>`. Reading stays organization-wide (`devices:read`), and so does everything
 * that is not about one device (users, keys, rollouts, audit).
 */
export const SCOPABLE_PERMISSIONS = [
  'devices:manage',
  'firmware:update',
  'application:update',
  'network:configure',
] as const;

/** Most scoped grants one member holds (a bound on the per-request check). */
export const MAX_SCOPED_GRANTS = 32;

/**
 * What each preset role may do; a membership's grants add to it. Here (not only in the hub) so a
 * client — the console — can tell which roles are within the caller's own permissions and offer
 * only those (the hub decides again).
 */
export const ROLE_PRESETS: Readonly<
  Record<(typeof ROLES)[number], readonly (typeof PERMISSIONS)[number][]>
> = {
  owner: PERMISSIONS,
  admin: PERMISSIONS.filter((p) => p !== 'org:manage'),
  operator: [
    'devices:read',
    'devices:manage',
    'firmware:update',
    'application:update',
    'network:configure',
  ],
  viewer: ['devices:read'],
};

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

/** Severities of an audit-check finding, least to most severe (decision 0031). */
export const FINDING_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/**
 * The fleet audit checks (decision 0031). `hub.*` checks look at the hub's own configuration and
 * report to the hub's operator organization only.
 */
export const CHECK_IDS = [
  'certificate.expiring',
  'certificate.old',
  'certificate.shared',
  'api_key.admin',
  'api_key.unused',
  'api_key.no_expiry',
  'device.publish_channels',
  'device.decommissioned_rights',
  'user.no_second_factor',
  'organization.single_owner',
  'organization.ca_expiring',
  'firmware.flagged',
  'firmware.outdated',
  'hub.coap_plaintext',
  'hub.mqtt_open_exposed',
] as const;

/** What an operator may mark a firmware artifact (decision 0031). */
export const FIRMWARE_ADVISORY_STATUSES = ['withdrawn', 'vulnerable'] as const;

/**
 * Rules on telemetry (decision 0035): the comparisons a condition may make. `gt`/`gte`/`lt`/`lte`
 * compare a numeric SenML value `v`; `eq`/`ne` compare `v`, `vs` or `vb` with a number, string or
 * boolean; `between`/`outside` test `v` against an inclusive range [min, max].
 */
export const RULE_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'ne', 'between', 'outside'] as const;

/**
 * What a rule may do when it fires (decision 0035). `webhook` is declared for the notifications
 * work (issue 14) and refused until it lands.
 */
export const RULE_ACTION_TYPES = ['alert', 'command', 'twin', 'webhook'] as const;

/** Longest a rule's condition may have to hold before it fires, s (one day). */
export const RULE_MAX_FOR_SECONDS = 86_400;
/** Most rules one organization may have (the evaluator's index stays small per message). */
export const RULE_MAX_PER_ORG = 200;
/** Most actions one rule may take. */
export const RULE_MAX_ACTIONS = 5;

/**
 * The detection rules every organization has (decision 0034): each can be disabled or tuned per
 * organization; the alert kind a rule raises has the rule's name.
 */
export const DETECT_RULE_IDS = [
  'auth_bruteforce',
  'cloned_certificate',
  'message_flood',
  'new_listening_port',
  'disallowed_connection',
  'connection_churn',
  'renewal_outside_schedule',
] as const;
