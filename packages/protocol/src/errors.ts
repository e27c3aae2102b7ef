/**
 * The one registry of Bulwark's error codes. Every error that crosses a wire carries one of these
 * codes; transports map the kind to an HTTP status, MQTT reason code or CoAP code in exactly one
 * function each. docs/reference/errors.md lists them (a test keeps the page in step).
 */

/** What sort of failure an error is; transports map kinds, never codes, to status codes. */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'too_large'
  | 'unsupported_media'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

interface ErrorSpec {
  readonly kind: ErrorKind;
  readonly title: string;
}

/** Every stable error code with its kind and a short human title. */
export const ERRORS = {
  // request shape
  validation_failed: { kind: 'invalid', title: 'The request does not match its schema' },
  unknown_field: { kind: 'invalid', title: 'The request has a field the schema does not know' },
  malformed_body: { kind: 'invalid', title: 'The request body could not be parsed' },
  body_too_large: { kind: 'too_large', title: 'The request body is larger than allowed' },
  json_too_deep: { kind: 'invalid', title: 'The JSON document nests deeper than allowed' },
  unsupported_media_type: {
    kind: 'unsupported_media',
    title: 'The content type is not accepted here',
  },
  route_not_found: { kind: 'not_found', title: 'No such API route' },
  not_found: { kind: 'not_found', title: 'No such resource in this organization' },
  conflict: { kind: 'conflict', title: 'The request conflicts with the current state' },
  invalid_cursor: { kind: 'invalid', title: 'The pagination cursor is not valid' },
  // authentication
  unauthenticated: { kind: 'unauthenticated', title: 'Authentication is required' },
  access_token_invalid: { kind: 'unauthenticated', title: 'The access token is not valid' },
  access_token_expired: { kind: 'unauthenticated', title: 'The access token has expired' },
  refresh_token_invalid: {
    kind: 'unauthenticated',
    title: 'The refresh token is not valid or was revoked',
  },
  refresh_token_missing: {
    kind: 'unauthenticated',
    title: 'No refresh token: neither in the body nor in the session cookie',
  },
  session_header_required: {
    kind: 'forbidden',
    title: 'Using the session cookie needs the X-Bulwark-Session: cookie header',
  },
  origin_mismatch: {
    kind: 'forbidden',
    title: "The request's Origin is not this hub's",
  },
  api_key_invalid: { kind: 'unauthenticated', title: 'The API key is not valid' },
  api_key_revoked: { kind: 'unauthenticated', title: 'The API key has been revoked' },
  invalid_credentials: { kind: 'unauthenticated', title: 'The email or password is wrong' },
  rate_limited: {
    kind: 'rate_limited',
    title: 'Too many failed attempts from this address; try again later',
  },
  totp_required: { kind: 'unauthenticated', title: 'A TOTP code is required for this account' },
  totp_invalid: { kind: 'unauthenticated', title: 'The TOTP code is wrong' },
  totp_not_enrolled: { kind: 'conflict', title: 'TOTP has not been set up for this account' },
  forbidden: { kind: 'forbidden', title: 'The caller lacks the permission for this action' },
  // first start
  setup_token_invalid: { kind: 'unauthenticated', title: 'The setup token is not valid' },
  setup_token_expired: { kind: 'unauthenticated', title: 'The setup token has expired' },
  setup_token_used: { kind: 'unauthenticated', title: 'The setup token has already been used' },
  setup_complete: { kind: 'conflict', title: 'The hub already has an owner' },
  // identity
  email_taken: { kind: 'conflict', title: 'A user with this email already exists' },
  weak_password: { kind: 'invalid', title: 'The password is too short or too common' },
  last_owner: { kind: 'conflict', title: 'An organization must keep at least one owner' },
  organization_limit: {
    kind: 'conflict',
    title: 'The user already belongs to as many organizations as this hub allows',
  },
  password_incorrect: { kind: 'forbidden', title: 'The current password is wrong' },
  // devices and locations
  device_name_taken: { kind: 'conflict', title: 'A device with this name already exists' },
  device_decommissioned: { kind: 'conflict', title: 'The device is decommissioned' },
  // device management
  twin_version_conflict: {
    kind: 'conflict',
    title: 'The desired twin changed since the version given (ifVersion)',
  },
  twin_invalid: { kind: 'invalid', title: 'The twin state or patch is not acceptable' },
  command_finished: {
    kind: 'conflict',
    title: 'The command has already finished (succeeded, failed, expired or canceled)',
  },
  device_payload_invalid: {
    kind: 'invalid',
    title: "A device's management-plane message does not match its schema",
  },
  log_query_invalid: {
    kind: 'invalid',
    title:
      'The log query cannot run (a regular expression outside the linear-time subset, or since after until)',
  },
  location_parent_invalid: { kind: 'invalid', title: 'The parent location cannot hold this kind' },
  location_not_empty: { kind: 'conflict', title: 'The location still holds locations or devices' },
  // messaging
  channel_name_taken: { kind: 'conflict', title: 'A channel with this name already exists' },
  topic_invalid: { kind: 'invalid', title: 'The topic is not valid here' },
  not_authorized: { kind: 'forbidden', title: 'The client may not publish or subscribe there' },
  senml_invalid: { kind: 'invalid', title: 'The SenML payload is not valid' },
  payload_too_large: { kind: 'too_large', title: 'The message payload is larger than allowed' },
  quota_exceeded: { kind: 'rate_limited', title: 'A rate or quota limit was reached' },
  // fleet provisioning (decision 0027)
  import_invalid: {
    kind: 'invalid',
    title: 'Rows of the import are invalid; nothing was written (see rows)',
  },
  claim_invalid: { kind: 'unauthenticated', title: 'The claim token is not valid' },
  claim_revoked: { kind: 'unauthenticated', title: 'The claim has been revoked' },
  claim_expired: { kind: 'unauthenticated', title: 'The claim has expired' },
  claim_exhausted: {
    kind: 'forbidden',
    title: 'The claim has provisioned as many devices as it allows',
  },
  claim_type_mismatch: {
    kind: 'forbidden',
    title: "The device's type is not the type of the claim's template",
  },
  hardware_id_not_allowed: {
    kind: 'forbidden',
    title: "The hardware id is not in the claim's allowlist or pattern",
  },
  hardware_id_claimed: {
    kind: 'conflict',
    title: 'This hardware id has already been provisioned with another key',
  },
  // PKI and enrollment
  enrollment_token_invalid: { kind: 'unauthenticated', title: 'The enrollment token is not valid' },
  enrollment_token_expired: { kind: 'unauthenticated', title: 'The enrollment token has expired' },
  enrollment_token_used: {
    kind: 'unauthenticated',
    title: 'The enrollment token has already been used',
  },
  csr_malformed: { kind: 'invalid', title: 'The CSR could not be parsed' },
  csr_signature_invalid: { kind: 'invalid', title: 'The CSR is not signed by its own key' },
  key_unsupported: { kind: 'invalid', title: 'The key algorithm or curve is not accepted' },
  key_too_weak: { kind: 'invalid', title: 'The key is too weak' },
  key_reused: {
    kind: 'conflict',
    title: 'This public key is already certified for another device',
  },
  certificate_required: { kind: 'unauthenticated', title: 'A client certificate is required' },
  certificate_invalid: {
    kind: 'unauthenticated',
    title: 'The client certificate is not valid here',
  },
  certificate_revoked: {
    kind: 'unauthenticated',
    title: 'The client certificate has been revoked',
  },
  certificate_expired: {
    kind: 'unauthenticated',
    title: 'The client certificate has expired or is not valid yet',
  },
  // remote access through the hub relay (decision 0042)
  device_not_connected: {
    kind: 'conflict',
    title: 'The device is not connected to this hub node: it cannot be asked to dial the relay',
  },
  relay_refused: {
    kind: 'forbidden',
    title:
      'The relay leg is refused: unknown or expired session, wrong secret, or another organization, device or principal than the session',
  },
  relay_busy: {
    kind: 'rate_limited',
    title: 'Too many remote-access sessions are open or pending; try again later',
  },
  // the device edge (core/src/edge): one admission rule for every transport
  device_key_invalid: { kind: 'unauthenticated', title: 'The device id or device key is wrong' },
  device_quarantined: {
    kind: 'forbidden',
    title: 'The device is quarantined: only its management plane and updates are open',
  },
  wrong_organization: {
    kind: 'forbidden',
    title: 'The credential belongs to another organization or device than the request names',
  },
  source_blocked: {
    kind: 'forbidden',
    title:
      'Authentications from this source address are blocked by a mitigation until it ends or is released',
  },
  credential_locked: {
    kind: 'rate_limited',
    title: 'Too many failed authentications from this source; try again later',
  },
  certificate_superseded: {
    kind: 'unauthenticated',
    title:
      'The client certificate was renewed: it is refused after the overlap and cannot renew again',
  },
  certificate_renewal_rate_limited: {
    kind: 'rate_limited',
    title: 'The device renewed its certificate too often; try again later',
  },
  // firmware repository
  firmware_root_missing: {
    kind: 'conflict',
    title: 'The organization has not uploaded a trusted firmware root yet',
  },
  firmware_metadata_malformed: {
    kind: 'invalid',
    title: 'The firmware metadata or root is not well-formed',
  },
  firmware_unknown_key: {
    kind: 'invalid',
    title: 'The firmware metadata is signed by a key the trusted root does not list',
  },
  firmware_threshold_not_met: {
    kind: 'invalid',
    title: 'Too few trusted keys signed the firmware metadata',
  },
  firmware_bad_signature: {
    kind: 'invalid',
    title: 'A signature on the firmware metadata does not verify',
  },
  firmware_metadata_expired: { kind: 'invalid', title: 'The firmware metadata has expired' },
  firmware_root_version_not_next: {
    kind: 'conflict',
    title: 'The new firmware root is not the next version of the trusted one',
  },
  firmware_image_too_large: {
    kind: 'too_large',
    title: 'The firmware image is larger than this hub accepts',
  },
  firmware_artifact_exists: {
    kind: 'conflict',
    title: 'The organization already has an artifact with this image',
  },
  firmware_artifact_in_use: {
    kind: 'conflict',
    title:
      'The firmware artifact is used by an open update job, a running or paused rollout or an auto-upgrade policy',
  },
  firmware_hash_mismatch: {
    kind: 'invalid',
    title: 'The firmware image does not have the SHA-256 its metadata gives',
  },
  firmware_length_mismatch: {
    kind: 'invalid',
    title: 'The firmware image does not have the length its metadata gives',
  },
  firmware_image_corrupt: {
    kind: 'internal',
    title: 'The stored firmware image no longer matches its SHA-256 and length',
  },
  // firmware update jobs (decision 0008)
  firmware_artifact_not_ready: {
    kind: 'conflict',
    title: 'The firmware artifact has no verified image yet, so it cannot be deployed',
  },
  update_incompatible: {
    kind: 'invalid',
    title: "The firmware artifact does not fit the device's registered type",
  },
  update_job_open: {
    kind: 'conflict',
    title: 'The device already has an update job that has not finished',
  },
  update_job_not_cancelable: {
    kind: 'conflict',
    title: 'The update job is installing, rebooting or finished and can no longer be canceled',
  },
  // rules on telemetry (decision 0035)
  rule_invalid: {
    kind: 'invalid',
    title:
      'The rule is not acceptable (condition, duration, scope or action); the detail names the field',
  },
  rule_limit: {
    kind: 'conflict',
    title: 'The organization already has as many rules as a hub allows',
  },
  // rollouts and the auto-upgrade policy (decision 0011)
  rollout_target_invalid: {
    kind: 'invalid',
    title: 'The rollout target selects nothing or names devices that do not exist',
  },
  rollout_phases_invalid: {
    kind: 'invalid',
    title: 'The rollout phases are not increasing or do not end at 100% of the target',
  },
  rollout_limits_invalid: {
    kind: 'invalid',
    title:
      'A rollout or auto-upgrade limit (concurrency, rate or failure threshold) is out of range',
  },
  rollout_window_invalid: {
    kind: 'invalid',
    title: 'The maintenance window has a bad day, time or time zone',
  },
  rollout_type_mismatch: {
    kind: 'invalid',
    title: 'The firmware artifact does not fit the device type',
  },
  rollout_state_conflict: {
    kind: 'conflict',
    title:
      'The rollout or auto-upgrade policy is not in a state that allows this (e.g. resuming a running one)',
  },
  // hawkBit DDI device API (decision 0012)
  update_action_closed: {
    kind: 'gone',
    title: 'The update action (job) has finished; no more feedback is taken for it',
  },
  // LwM2M credential rotation (decision 0045 amendment)
  lwm2m_psk_required: {
    kind: 'conflict',
    title: 'The device has no DTLS pre-shared key to rotate (set one or bootstrap it first)',
  },
  lwm2m_device_required: {
    kind: 'conflict',
    title: 'The device is not an LwM2M device (it lacks the "lwm2m" tag)',
  },
  lwm2m_queue_full: {
    kind: 'rate_limited',
    title:
      'The LwM2M device already has the most requests open (queued or held for its next wake-up); wait for them or cancel some',
  },
  lwm2m_rebootstrap_requested: {
    kind: 'gone',
    title: 'An operator asked this LwM2M device to bootstrap again: its registration has ended',
  },
  // server side
  alert_state_conflict: {
    kind: 'conflict',
    title: 'The alert is not in a state that allows this (e.g. already resolved)',
  },
  notification_endpoint_invalid: {
    kind: 'invalid',
    title: 'The notification endpoint is not acceptable (URL, addresses, CA or secret)',
  },
  notification_rule_invalid: {
    kind: 'invalid',
    title: 'The notification rule is not acceptable (unknown endpoint or location)',
  },
  maintenance_window_invalid: {
    kind: 'invalid',
    title:
      'The maintenance window is not acceptable (end before start or past, over 30 days, unknown location)',
  },
  notification_endpoint_in_use: {
    kind: 'conflict',
    title: 'A notification rule still routes to this endpoint',
  },
  mitigation_invalid: {
    kind: 'invalid',
    title: 'The mitigation or policy is not acceptable (action, parameters, kinds or location)',
  },
  mitigation_punishes_target: {
    kind: 'invalid',
    title:
      'The policy would quarantine or revoke the device an alert names as the target of someone else’s action (e.g. auth_bruteforce), not the culprit',
  },
  mitigation_no_source: {
    kind: 'invalid',
    title:
      'block_source needs one source address: the alert names none (or its kind never does), and none was given',
  },
  mitigation_source_exempt: {
    kind: 'invalid',
    title:
      'The address may never be blocked: it is the hub’s own loopback (local operators, a proxy on the host) or on the never-block list',
  },
  mitigation_not_reversible: {
    kind: 'conflict',
    title:
      'The mitigation cannot be reverted (a revocation, a notification, a dry run, a failure, or already reverted)',
  },
  delivery_not_dead: {
    kind: 'conflict',
    title: 'Only a dead-lettered delivery can be re-driven',
  },
  internal_error: { kind: 'internal', title: 'Internal error' },
  unavailable: { kind: 'unavailable', title: 'The service is not ready' },
} as const satisfies Record<string, ErrorSpec>;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** Is `code` one of the registered codes? */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

/** The RFC 9457 `type` URI for a code. */
export function problemType(code: ErrorCode): string {
  return `urn:bulwark:problem:${code}`;
}

/** The error every Bulwark layer throws: a stable code, its kind, a human detail and a cause. */
export class BulwarkError extends Error {
  override readonly name = 'BulwarkError';
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** Extra machine-readable members for the problem document (e.g. `retryAfter`, `field`). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { cause?: unknown; extra?: Record<string, unknown> } = {},
  ) {
    super(
      detail ?? ERRORS[code].title,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.code = code;
    this.kind = ERRORS[code].kind;
    this.extra = options.extra ?? {};
  }
}

/** RFC 9457 problem details as Bulwark emits them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  [extension: string]: unknown;
}
