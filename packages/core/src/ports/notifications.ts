/**
 * Notification storage and sending ports (issue 14, decision 0030): endpoints (a webhook or an
 * email route, secrets sealed), routing rules (location subtree × severity × kind, with an
 * escalation), and the persisted delivery queue with its dead letters. The queue is claimed with
 * a lease, as rollouts are, so in a cluster each delivery is attempted by one node at a time.
 */
import type { AlertSeverity } from './alerts.js';
import type { Page, PageRequest } from './records.js';

/** How a webhook body is shaped: Bulwark's JSON, or a Slack incoming-webhook message. */
export type WebhookFormat = 'json' | 'slack';

/** How an SMTP connection is protected: none (loopback relays), STARTTLS, or TLS from the start. */
export type SmtpSecurity = 'none' | 'starttls' | 'tls';

/** A webhook endpoint's settings that are not secret. */
export interface WebhookSettings {
  kind: 'webhook';
  format: WebhookFormat;
  /** The URL's origin (the full URL, which may carry a token, is sealed). */
  origin: string;
  /** Extra CA certificates (PEM) trusted for this endpoint's TLS, beside the system's. */
  caPem: string | null;
}

/** An email endpoint's settings that are not secret. */
export interface EmailSettings {
  kind: 'email';
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string | null;
  /** Whether a password is sealed with the secrets. */
  passwordSet: boolean;
  from: string;
  to: string[];
  caPem: string | null;
}

/** The secret part of an endpoint, sealed with the master key (never returned or logged). */
export type EndpointSecrets =
  { kind: 'webhook'; url: string; secret: string } | { kind: 'email'; password: string | null };

/** Where notifications go. */
export interface NotificationEndpointRecord {
  id: string;
  orgId: string;
  name: string;
  settings: WebhookSettings | EmailSettings;
  /** `EndpointSecrets` as JSON, sealed by the SecretBox under the endpoint's context. */
  secretsSealed: string;
  enabled: boolean;
  /** Failed attempts in a row (the circuit breaker's count). */
  consecutiveFailures: number;
  /** While in the future the breaker is open: nothing is sent to the endpoint. */
  breakerOpenUntil: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A routing rule: which alerts go to which endpoints, and where to escalate. */
export interface NotificationRuleRecord {
  id: string;
  orgId: string;
  name: string;
  enabled: boolean;
  /** A location: the rule applies to devices there and in every location below; null: all. */
  locationId: string | null;
  minSeverity: AlertSeverity;
  /** Alert kinds; empty: every kind. */
  kinds: string[];
  endpointIds: string[];
  /** Also notify when a matched alert resolves. */
  notifyResolved: boolean;
  /** After this long unacknowledged (and unmuted), notify `escalation.endpointIds` too. */
  escalation: { afterMinutes: number; endpointIds: string[] } | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * A maintenance window (decision 0030, amendment): from `startsAt` to `endsAt` (30 days at most),
 * alerts about the organization — or about devices in a location subtree — of the given kinds (all
 * when empty) are still raised and recorded, but their notifications and escalations are held
 * back; when it ends, held ones of an alert still active are sent, the others dropped.
 */
export interface MaintenanceWindowRecord {
  id: string;
  orgId: string;
  /** Devices there and in every location below; null: the whole organization. */
  locationId: string | null;
  kinds: string[];
  startsAt: number;
  endsAt: number;
  reason: string;
  /** `user:<id>` or `api_key:<id>`. */
  createdBy: string;
  createdAt: number;
}

/** What a delivery announces. */
export type DeliveryEvent =
  | 'alert.opened'
  | 'alert.resolved'
  | 'alert.escalated'
  /** A rule on telemetry's webhook action (decision 0035, amendment); no alert. */
  | 'rule.fired'
  | 'test';

/** `pending` (waiting or retrying) → `delivered` | `dead` (attempts exhausted) | `canceled`. */
export type DeliveryState = 'pending' | 'delivered' | 'dead' | 'canceled';

/** One message to one endpoint, persisted until it is delivered or given up. */
export interface DeliveryRecord {
  id: string;
  orgId: string;
  endpointId: string;
  alertId: string | null;
  ruleId: string | null;
  event: DeliveryEvent;
  /** The message as it will be sent (a snapshot of the alert when it was queued). */
  payload: { [key: string]: unknown };
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

/** The outcome of one attempt, written by the node that holds the lease. */
export type DeliverySettle = Pick<
  DeliveryRecord,
  'state' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'deliveredAt'
>;

export interface NotificationStore {
  createEndpoint(e: NotificationEndpointRecord): Promise<void>;
  getEndpoint(orgId: string, id: string): Promise<NotificationEndpointRecord | undefined>;
  listEndpoints(orgId: string): Promise<NotificationEndpointRecord[]>;
  /** Replaces name, settings, sealed secrets and enabled; returns the new record. */
  updateEndpoint(
    orgId: string,
    id: string,
    patch: Pick<NotificationEndpointRecord, 'name' | 'settings' | 'secretsSealed' | 'enabled'>,
    at: number,
  ): Promise<NotificationEndpointRecord | undefined>;
  /** Deletes the endpoint and its queued deliveries. */
  deleteEndpoint(orgId: string, id: string): Promise<boolean>;
  /** Counts one more failure in a row; returns the count. */
  endpointFailed(orgId: string, id: string, at: number): Promise<number>;
  /** Opens (or keeps open) the breaker until `until`. */
  openBreaker(orgId: string, id: string, until: number): Promise<void>;
  /** A success closes the breaker and clears the count. */
  endpointSucceeded(orgId: string, id: string, at: number): Promise<void>;

  createRule(r: NotificationRuleRecord): Promise<void>;
  getRule(orgId: string, id: string): Promise<NotificationRuleRecord | undefined>;
  /** Every rule of the organization, oldest first (a few hundred at most). */
  listRules(orgId: string): Promise<NotificationRuleRecord[]>;
  updateRule(r: NotificationRuleRecord): Promise<boolean>;
  deleteRule(orgId: string, id: string): Promise<boolean>;

  enqueue(deliveries: readonly DeliveryRecord[]): Promise<void>;
  /**
   * Hub-wide (every organization): leases up to `limit` pending deliveries due at `now` whose
   * lease is free and whose endpoint's breaker is not open, to `holder` until `leaseUntil`. A
   * delivery is leased to one holder at a time, across nodes.
   */
  claimDue(
    now: number,
    holder: string,
    leaseUntil: number,
    limit: number,
  ): Promise<DeliveryRecord[]>;
  /** Writes an attempt's outcome and frees the lease, if `holder` still holds it. */
  settle(id: string, holder: string, outcome: DeliverySettle, at: number): Promise<boolean>;
  /** Frees the leases of `holder` (a stopping node, or deliveries deferred by an open breaker). */
  release(holder: string, ids?: readonly string[]): Promise<void>;
  getDelivery(orgId: string, id: string): Promise<DeliveryRecord | undefined>;
  /** Newest first. */
  listDeliveries(
    orgId: string,
    filter: { state?: DeliveryState; endpointId?: string; alertId?: string },
    page: PageRequest,
  ): Promise<Page<DeliveryRecord>>;
  /** Hub-wide: deletes delivered and canceled deliveries last changed before `before`. */
  pruneSettled(before: number): Promise<number>;
  /** A dead delivery becomes pending again with a fresh count of attempts; returns it. */
  redrive(orgId: string, id: string, at: number): Promise<DeliveryRecord | undefined>;

  createWindow(w: MaintenanceWindowRecord): Promise<void>;
  getWindow(orgId: string, id: string): Promise<MaintenanceWindowRecord | undefined>;
  /**
   * The organization's windows ending after `endsAfter` (all when absent), soonest start first,
   * at most `limit`.
   */
  listWindows(
    orgId: string,
    filter: { endsAfter?: number },
    limit: number,
  ): Promise<MaintenanceWindowRecord[]>;
  deleteWindow(orgId: string, id: string): Promise<boolean>;
}

/** One webhook request, as the sender makes it. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  caPem: string | null;
  timeoutMs: number;
}

/** One email, as the sender sends it. */
export interface EmailMessage {
  smtp: {
    host: string;
    port: number;
    security: SmtpSecurity;
    username: string | null;
    password: string | null;
    caPem: string | null;
  };
  from: string;
  to: string[];
  subject: string;
  text: string;
  timeoutMs: number;
}

/**
 * Sends notifications over the network (the hub's adapter: HTTPS and SMTP). Resolves when the
 * receiver accepted it; rejects with an error whose message is safe to store (no secrets).
 */
export interface NotificationSender {
  postWebhook(req: WebhookRequest): Promise<{ status: number }>;
  sendEmail(msg: EmailMessage): Promise<void>;
}
