/**
 * Mitigation storage ports (issue 14 item 3, decision 0036): policies that bind an action to
 * alerts (kinds × minimum severity × location subtree), and the log of actions taken — applied,
 * dry runs, failures and reverts — with what a revert needs to restore. Times are epoch
 * milliseconds; every query over tenant data takes `orgId`.
 */
import type { TwinValue } from '@bulwark/protocol';
import type { AlertSeverity } from './alerts.js';
import type { Page, PageRequest } from './records.js';

/**
 * What a mitigation does to a device: cut it off (`quarantine`) or let it back (`release`),
 * revoke every live certificate and key (`revoke`), push a desired-twin merge patch
 * (`set_desired`), start a firmware update job (`start_update`), or raise an alert (`notify`);
 * or, on no device, lock an alert's source address at the edge for a while (`block_source`).
 */
export type MitigationAction =
  'quarantine' | 'release' | 'revoke' | 'set_desired' | 'start_update' | 'notify' | 'block_source';

/** An action's parameters (free JSON, checked per action by the service). */
export type MitigationParams = { [key: string]: TwinValue };

/**
 * `applied` (done), `dry_run` (said what it would do), `failed`, `reverted` (undone), `skipped`
 * (a policy's action not taken on purpose, e.g. a quarantine on an alert whose device is the
 * target of someone else's action; the reason is in `error`).
 */
export type MitigationState = 'applied' | 'dry_run' | 'failed' | 'reverted' | 'skipped';

/** Who asked for an action or owns a policy: a user or an API key (its authority is theirs). */
export interface MitigationActor {
  type: 'user' | 'api_key';
  id: string;
}

/** A standing rule: alerts of these kinds, at least this severe, on devices under a location. */
export interface MitigationPolicyRecord {
  id: string;
  orgId: string;
  name: string;
  enabled: boolean;
  /** Alert kinds it answers (at least one: a policy never acts on every alert by accident). */
  kinds: string[];
  minSeverity: AlertSeverity;
  /** Only devices in this location or below it; null: the whole organization. */
  locationId: string | null;
  action: MitigationAction;
  params: MitigationParams;
  /** Record what would be done, change nothing. */
  dryRun: boolean;
  /** The creator (or last editor): the policy acts with their authority, checked at each run. */
  createdBy: MitigationActor;
  createdAt: number;
  updatedAt: number;
}

/** One action taken (or that would have been taken) on one device, or on a source address. */
export interface MitigationRecord {
  id: string;
  orgId: string;
  /** The device acted on; null for `block_source` (its address is `params.source`). */
  deviceId: string | null;
  /** The alert that triggered it, or the alert a person named; null for a plain manual action. */
  alertId: string | null;
  /** The policy that acted, or null for a person's action. */
  policyId: string | null;
  /** The person (`user:ID`, `api_key:ID`) or `policy:ID` that acted. */
  actor: string;
  action: MitigationAction;
  params: MitigationParams;
  state: MitigationState;
  reason: string | null;
  /** What was done or, for a dry run, what would be done (one line per step). */
  summary: string[];
  /** What a revert restores (e.g. the previous device state, the previous desired values, the job id). */
  previous: MitigationParams | null;
  /** Why it failed, for `failed`. */
  error: string | null;
  at: number;
  revertedAt: number | null;
  revertedBy: string | null;
}

/** The filter of `MitigationStore.list`. */
export interface MitigationFilter {
  deviceId?: string;
  alertId?: string;
  state?: MitigationState;
}

/** The changes of a policy update (each field that is defined is set). */
export type MitigationPolicyPatch = Partial<
  Pick<
    MitigationPolicyRecord,
    | 'name'
    | 'enabled'
    | 'kinds'
    | 'minSeverity'
    | 'locationId'
    | 'action'
    | 'params'
    | 'dryRun'
    | 'createdBy'
    | 'updatedAt'
  >
>;

export interface MitigationStore {
  createPolicy(p: MitigationPolicyRecord): Promise<void>;
  getPolicy(orgId: string, id: string): Promise<MitigationPolicyRecord | undefined>;
  /** Oldest first. */
  listPolicies(orgId: string): Promise<MitigationPolicyRecord[]>;
  /** Returns the policy after the change, or undefined when there is none in this organization. */
  updatePolicy(
    orgId: string,
    id: string,
    patch: MitigationPolicyPatch,
  ): Promise<MitigationPolicyRecord | undefined>;
  /** Returns false when there was none in this organization. */
  deletePolicy(orgId: string, id: string): Promise<boolean>;
  /** Records an action. */
  record(m: MitigationRecord): Promise<void>;
  get(orgId: string, id: string): Promise<MitigationRecord | undefined>;
  /** Newest first. */
  list(orgId: string, filter: MitigationFilter, page: PageRequest): Promise<Page<MitigationRecord>>;
  /**
   * Marks an `applied` action `reverted` (a compare-and-set: one revert wins); returns the record
   * after the change, or undefined when it is missing or not `applied`.
   */
  markReverted(
    orgId: string,
    id: string,
    at: number,
    by: string,
  ): Promise<MitigationRecord | undefined>;
  /**
   * Every organization's `block_source` actions still `applied` (not reverted) recorded at or
   * after `since`, oldest first: what the edge of every node enforces (a block lasts at most a
   * day, so `since` bounds the read).
   */
  listSourceBlocks(since: number): Promise<MitigationRecord[]>;
}
