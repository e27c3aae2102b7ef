/**
 * Device-management storage ports (DESIGN.md §3): the twin, the durable command queue, presence
 * with the latest metrics, device events and alerts. Times are epoch milliseconds. Every query over
 * tenant data takes `orgId`; the hub-wide maintenance queries (expiry sweep) say so.
 */
import type {
  CommandState,
  DeviceEvent,
  DeviceMetrics,
  TwinError,
  TwinState,
  TwinValue,
} from '@bulwark/protocol';
import type { OperatingMode, Page, PageRequest } from './records.js';

/** The desired state the hub holds for a device. */
export interface DesiredTwinRecord {
  orgId: string;
  deviceId: string;
  /** Grows by one with every change (1 = first). */
  version: number;
  state: TwinState;
  updatedAt: number;
}

/** The last accepted report of what a device runs. */
export interface ReportedTwinRecord {
  orgId: string;
  deviceId: string;
  version: number;
  desiredVersion: number;
  state: TwinState;
  errors: TwinError[];
  updatedAt: number;
}

export interface TwinStore {
  getDesired(orgId: string, deviceId: string): Promise<DesiredTwinRecord | undefined>;
  /**
   * Compare-and-set: stores `next` only if the stored version is `expectedVersion` (0 = none
   * stored yet). Returns false and changes nothing otherwise.
   */
  putDesired(next: DesiredTwinRecord, expectedVersion: number): Promise<boolean>;
  /** The desired versions of these devices (absent = never set): the cluster sweep's question. */
  desiredVersions(orgId: string, deviceIds: readonly string[]): Promise<Map<string, number>>;
  getReported(orgId: string, deviceId: string): Promise<ReportedTwinRecord | undefined>;
  /**
   * Stores a report only if its version is greater than the stored one's (a stale or replayed
   * report changes nothing). Returns whether it was stored.
   */
  putReported(report: ReportedTwinRecord): Promise<boolean>;
}

/** One step of a command's life. */
export interface CommandHistoryEntry {
  state: CommandState;
  at: number;
  reason?: string;
}

/** A command for a device. */
export interface CommandRecord {
  id: string;
  orgId: string;
  deviceId: string;
  name: string;
  params: { [key: string]: TwinValue };
  state: CommandState;
  deadline: number;
  createdAt: number;
  updatedAt: number;
  result: { [key: string]: TwinValue } | null;
  error: { code: string; message: string } | null;
  history: CommandHistoryEntry[];
}

/** A state change of a command, applied compare-and-set. */
export interface CommandTransition {
  to: CommandState;
  at: number;
  reason?: string;
  result?: { [key: string]: TwinValue } | null;
  error?: { code: string; message: string } | null;
}

export interface CommandStore {
  create(command: CommandRecord): Promise<void>;
  get(orgId: string, id: string): Promise<CommandRecord | undefined>;
  /** A device's commands, newest first; the cursor is opaque. */
  list(
    orgId: string,
    deviceId: string,
    filter: { state?: CommandState },
    page: PageRequest,
  ): Promise<Page<CommandRecord>>;
  /**
   * Compare-and-set: moves the command to `change.to` only if its current state is one of `from`
   * (never a terminal state: callers pass only non-terminal ones), appending a history entry.
   * Returns the updated command, or undefined when it is not in one of those states (or absent).
   */
  transition(
    orgId: string,
    id: string,
    from: readonly CommandState[],
    change: CommandTransition,
  ): Promise<CommandRecord | undefined>;
  /** Queued commands of these devices whose deadline is after `now`, oldest first, at most `limit`. */
  listQueued(
    orgId: string,
    deviceIds: readonly string[],
    now: number,
    limit: number,
  ): Promise<CommandRecord[]>;
  /** Hub-wide: queued or delivered commands whose deadline is at or before `now`, at most `limit`. */
  listDue(now: number, limit: number): Promise<CommandRecord[]>;
}

/** Where a device is: online or not, since when, and its latest health snapshot. */
export interface PresenceRecord {
  orgId: string;
  deviceId: string;
  online: boolean;
  /** The mode the device last reported in its presence message (null: never said). */
  mode: OperatingMode | null;
  /** When it went online or offline. */
  since: number;
  lastSeenAt: number;
  /** The connection this state belongs to, so a late offline of an old one changes nothing. */
  sessionId: string | null;
  metrics: DeviceMetrics | null;
}

export interface PresenceStore {
  get(orgId: string, deviceId: string): Promise<PresenceRecord | undefined>;
  /** Inserts or replaces the device's presence. */
  put(presence: PresenceRecord): Promise<void>;
  /**
   * Many devices connected (a batch of connects, issue 12): each device's presence becomes online
   * for its connection `sessionId` at `at` — `since` kept when it was online already, its mode and
   * metrics kept — and its device record's `lastSeenAt` becomes `at`, in as few statements as the
   * store can (one per few hundred devices). A device of another organization than its entry's
   * is left alone; a device listed twice takes its last entry.
   */
  markOnline(
    entries: readonly { orgId: string; deviceId: string; sessionId: string }[],
    at: number,
  ): Promise<void>;
  /**
   * Marks the device offline only if its presence belongs to `sessionId` and it is online.
   * Returns the updated record, or undefined when nothing changed.
   */
  setOffline(
    orgId: string,
    deviceId: string,
    sessionId: string,
    at: number,
  ): Promise<PresenceRecord | undefined>;
  /**
   * Heartbeat: sets lastSeenAt of the online devices whose presence belongs to one of these
   * connections (a node vouching for the devices connected to it). Returns how many.
   */
  refresh(orgId: string, sessionIds: readonly string[], at: number): Promise<number>;
  /** Hub-wide: online devices not vouched for since `before` (their hub node died), at most `limit`. */
  listStale(before: number, limit: number): Promise<PresenceRecord[]>;
  /** Updates mode / lastSeenAt / metrics of an existing presence row; false when there is none. */
  touch(
    orgId: string,
    deviceId: string,
    patch: { lastSeenAt: number; mode?: OperatingMode; metrics?: DeviceMetrics },
  ): Promise<boolean>;
}

/** An event a device reported. */
export interface DeviceEventRecord extends Omit<DeviceEvent, 'at'> {
  id: string;
  orgId: string;
  deviceId: string;
  /** Device clock. */
  at: number;
  receivedAt: number;
}

export interface DeviceEventStore {
  append(events: readonly DeviceEventRecord[]): Promise<void>;
  /** A device's events, newest (by id) first. */
  list(
    orgId: string,
    deviceId: string,
    filter: { kind?: string; severity?: DeviceEvent['severity'] },
    page: PageRequest,
  ): Promise<Page<DeviceEventRecord>>;
  /** Deletes all but the newest `keep` events of the device; returns how many went. */
  prune(orgId: string, deviceId: string, keep: number): Promise<number>;
}

/**
 * Alert kinds. `rollout_paused`: a rollout paused itself (failure threshold or success gate), raised
 * on the device whose failure tipped it; resolved when the rollout is resumed or canceled.
 * `auto_upgrade_paused`: the same for an auto-upgrade policy; resolved when it is resumed, set
 * anew or cleared.
 * `credential_conflict`: one device credential is used from several places at once (its sessions
 * keep taking each other over); resolved by a person (revoke and re-provision, or acknowledge).
 * `audit_finding`: a fleet audit check found something high or critical about the device
 * (decision 0031); the finding itself says what, and resolves when the condition ends.
 */
export type AlertKind =
  | 'device_offline'
  | 'rollout_paused'
  | 'auto_upgrade_paused'
  | 'credential_conflict'
  | 'audit_finding'
  // Detection rules (decision 0034): the kind is the rule's id; `detail` is the evidence.
  | 'auth_bruteforce'
  | 'cloned_certificate'
  | 'message_flood'
  | 'new_listening_port'
  | 'disallowed_connection'
  | 'connection_churn';

/** Something that needs an operator's eye, open until the condition ends. */
export interface AlertRecord {
  id: string;
  orgId: string;
  deviceId: string;
  kind: AlertKind;
  state: 'open' | 'resolved';
  openedAt: number;
  resolvedAt: number | null;
  detail: { [key: string]: TwinValue };
}

export interface AlertStore {
  /** Inserts an open alert unless one of that kind is already open for the device. */
  open(alert: AlertRecord): Promise<boolean>;
  /** Resolves the open alerts of that kind for the device; returns how many. */
  resolve(orgId: string, deviceId: string, kind: AlertKind, at: number): Promise<number>;
  /** Newest first. */
  list(
    orgId: string,
    filter: { state?: 'open' | 'resolved'; deviceId?: string },
    page: PageRequest,
  ): Promise<Page<AlertRecord>>;
}
