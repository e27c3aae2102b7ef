/**
 * The fleet audit checks' state (decision 0031): findings with their identity across runs,
 * suppressions, the operator's firmware advisories, and the run leases that keep two nodes from
 * running one organization's checks at once. Times are epoch milliseconds; every tenant query
 * takes `orgId`.
 */
import type { CHECK_IDS, FINDING_SEVERITIES, FIRMWARE_ADVISORY_STATUSES } from '@bulwark/protocol';
import type { Page, PageRequest } from './records.js';

export type CheckId = (typeof CHECK_IDS)[number];
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];
export type FirmwareAdvisoryStatus = (typeof FIRMWARE_ADVISORY_STATUSES)[number];

/** A thing a finding names (`device`, `certificate` by serial, `api_key`, `user`, …). */
export interface FindingResource {
  type: string;
  id: string;
}

/**
 * One finding. Its identity is (orgId, checkId, key): a condition that persists across runs is
 * the same finding (first seen, last seen); one that is gone is `resolved`, and reopened under
 * the same id if it comes back.
 */
export interface FindingRecord {
  id: string;
  orgId: string;
  checkId: CheckId;
  /** What the finding is about, stable across runs (e.g. `device:<id>`, `spki:<sha256>`). */
  key: string;
  severity: FindingSeverity;
  message: string;
  resources: FindingResource[];
  state: 'open' | 'resolved';
  firstSeenAt: number;
  lastSeenAt: number;
  resolvedAt: number | null;
}

/** Suppresses the findings of a check — of one resource (`type:id`) or all — until it expires. */
export interface SuppressionRecord {
  id: string;
  orgId: string;
  checkId: CheckId;
  resource: string | null;
  reason: string;
  /** The user or API key that made it. */
  createdBy: string | null;
  createdAt: number;
  expiresAt: number;
}

/** An operator's mark on a firmware artifact. */
export interface FirmwareAdvisoryRecord {
  orgId: string;
  artifactId: string;
  status: FirmwareAdvisoryStatus;
  reason: string;
  setBy: string | null;
  setAt: number;
}

export interface FindingFilter {
  checkId?: CheckId;
  severity?: FindingSeverity;
  state?: 'open' | 'resolved';
}

export interface AuditCheckStore {
  /**
   * Records that the finding (orgId, checkId, key) was seen at `f.lastSeenAt`: inserts it as
   * given, or updates the existing one's severity, message, resources and last-seen time; a
   * resolved one is reopened (first seen again now, under its id). Returns the stored finding and
   * whether it was opened by this call (new or reopened).
   */
  recordFinding(f: FindingRecord): Promise<{ finding: FindingRecord; opened: boolean }>;
  /** The organization's open findings (every one: a run compares them with what it saw). */
  listOpenFindings(orgId: string): Promise<FindingRecord[]>;
  /** Marks these open findings resolved at `at`; returns how many changed. */
  resolveFindings(orgId: string, ids: readonly string[], at: number): Promise<number>;
  /** Newest first (by id, i.e. first creation). */
  listFindings(
    orgId: string,
    filter: FindingFilter,
    page: PageRequest,
  ): Promise<Page<FindingRecord>>;
  getFinding(orgId: string, id: string): Promise<FindingRecord | undefined>;

  createSuppression(s: SuppressionRecord): Promise<void>;
  /** Suppressions not expired at `now`, newest first. */
  listSuppressions(orgId: string, now: number): Promise<SuppressionRecord[]>;
  /** False when there was no such suppression in this organization. */
  deleteSuppression(orgId: string, id: string): Promise<boolean>;

  /** Sets (inserts or replaces) the artifact's advisory. */
  putAdvisory(a: FirmwareAdvisoryRecord): Promise<void>;
  /** False when the artifact had none. */
  deleteAdvisory(orgId: string, artifactId: string): Promise<boolean>;
  listAdvisories(orgId: string): Promise<FirmwareAdvisoryRecord[]>;

  /**
   * Hub-wide: takes the lease `name` for `holder` until `until` if it is free at `now` (expired,
   * or already this holder's). One node runs a scheduled pass, one run per organization at a time.
   */
  lease(name: string, holder: string, now: number, until: number): Promise<boolean>;
  /** Gives the lease back if `holder` holds it. */
  releaseLease(name: string, holder: string): Promise<void>;
}
