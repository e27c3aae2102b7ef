/**
 * Alert storage ports (issue 14, decision 0030): alerts with a lifecycle (open → acknowledged →
 * resolved), severity, deduplication by key, grouping, evidence, an assignee, comments and a mute
 * window. Times are epoch milliseconds; every query over tenant data takes `orgId`.
 */
import type { TwinValue } from '@bulwark/protocol';
import type { Page, PageRequest } from './records.js';

/**
 * What an alert is about: an open-ended string (`^[a-z][a-z0-9_]{0,63}$`), so detectors add kinds
 * without a schema change. The kinds raised today and their default severities are in
 * `KNOWN_ALERT_KINDS` (core/src/alerts/kinds.ts): `device_offline`, `rollout_paused`,
 * `auto_upgrade_paused`, `credential_conflict`; detectors add `auth_bruteforce`,
 * `cloned_certificate`, `message_flood`, `new_listening_port`, `disallowed_connection`,
 * `telemetry_rule`.
 */
export type AlertKind = string;

/** How bad, lowest first (the order routing rules compare with `minSeverity`). */
export type AlertSeverity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** `open` → `acknowledged` (a person owns it) → `resolved`; a new occurrence may reopen it. */
export type AlertState = 'open' | 'acknowledged' | 'resolved';

/**
 * Structured evidence: free JSON, with conventional keys detectors use — `metric`, `window`
 * (seconds), `expected` (a band `{min, max}` or a value), `observed`, `source`, `samples`.
 */
export type AlertEvidence = { [key: string]: TwinValue };

/** Who changed an alert: a user, an API key or the hub itself. */
export interface AlertActor {
  type: 'user' | 'api_key' | 'system';
  id: string;
}

/** Something that needs a person, open until the condition ends or a person resolves it. */
export interface AlertRecord {
  id: string;
  orgId: string;
  /** The device it is about, or null (e.g. an attack from a source address on the fleet). */
  deviceId: string | null;
  kind: AlertKind;
  severity: AlertSeverity;
  state: AlertState;
  /** One line for people. */
  title: string;
  /** Occurrences of the same source share this key and so one active alert. */
  dedupKey: string;
  /** Alerts that belong together in a view (by default the kind). */
  groupKey: string;
  evidence: AlertEvidence;
  /** How often it occurred while active (and within the cool-down after a resolution). */
  occurrences: number;
  openedAt: number;
  lastSeenAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  /** Who resolved it: `system` when the condition ended, else the user or API key. */
  resolvedBy: string | null;
  assignee: string | null;
  /** Notifications and escalation are held back until then. */
  mutedUntil: number | null;
  muteReason: string | null;
  updatedAt: number;
}

/** A person's note on an alert. */
export interface AlertComment {
  id: string;
  orgId: string;
  alertId: string;
  author: string;
  body: string;
  at: number;
}

/** What `AlertStore.raise` did. */
export type RaiseOutcome = 'opened' | 'repeated' | 'reopened';

/** The filter of `AlertStore.list`. */
export interface AlertFilter {
  state?: AlertState;
  /** Open or acknowledged. */
  active?: boolean;
  deviceId?: string;
  kind?: string;
  severity?: AlertSeverity;
  groupKey?: string;
  assignee?: string;
}

/** One group of active alerts. */
export interface AlertGroup {
  groupKey: string;
  kind: string;
  count: number;
  /** The highest severity in the group. */
  severity: AlertSeverity;
  lastSeenAt: number;
}

/** The changes a person makes to an alert (each field that is defined is set). */
export type AlertPatch = Partial<
  Pick<
    AlertRecord,
    | 'state'
    | 'acknowledgedAt'
    | 'acknowledgedBy'
    | 'resolvedAt'
    | 'resolvedBy'
    | 'assignee'
    | 'mutedUntil'
    | 'muteReason'
  >
>;

export interface AlertStore {
  /**
   * Records an occurrence atomically across nodes: when an active alert has the same dedup key
   * its occurrences grow and `lastSeenAt` moves (`repeated`); else, when one with that key was
   * resolved at or after `reopenSince`, it opens again (`reopened`); else `alert` is inserted
   * (`opened`). Returns the alert as stored.
   */
  raise(
    alert: AlertRecord,
    reopenSince: number | null,
  ): Promise<{ alert: AlertRecord; outcome: RaiseOutcome }>;
  /** Resolves the active alert with this dedup key; returns it, or undefined when none was. */
  resolveByKey(
    orgId: string,
    dedupKey: string,
    at: number,
    by: string,
  ): Promise<AlertRecord | undefined>;
  get(orgId: string, id: string): Promise<AlertRecord | undefined>;
  /**
   * Applies `patch` when the alert's state is one of `from` (a compare-and-set); returns the
   * alert after the change, or undefined when it is missing or in another state.
   */
  update(
    orgId: string,
    id: string,
    from: readonly AlertState[],
    patch: AlertPatch,
    at: number,
  ): Promise<AlertRecord | undefined>;
  /** Newest first. */
  list(orgId: string, filter: AlertFilter, page: PageRequest): Promise<Page<AlertRecord>>;
  /** Active alerts by group key, the most recent group first (at most `limit`). */
  groups(orgId: string, limit: number): Promise<AlertGroup[]>;
  addComment(comment: AlertComment): Promise<void>;
  /** Oldest first. */
  comments(orgId: string, alertId: string, limit: number): Promise<AlertComment[]>;
}
