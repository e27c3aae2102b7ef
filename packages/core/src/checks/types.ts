/** The shapes shared by the fleet audit checks (decision 0031). */
import type { CheckId, FindingResource, FindingSeverity } from '../ports/checks.js';

/** What a check reports before it is recorded: the store gives it its identity across runs. */
export interface FindingDraft {
  checkId: CheckId;
  /** What the finding is about, stable across runs (e.g. `device:<id>`, `spki:<sha256>`). */
  key: string;
  severity: FindingSeverity;
  message: string;
  resources: FindingResource[];
}

/** The thresholds of the checks; every one has a default (DEFAULT_AUDIT_CHECK_CONFIG). */
export interface AuditCheckConfig {
  /** A live device certificate expiring within this many days is a finding. */
  certExpiryDays: number;
  /** A live device certificate issued longer ago than this is a finding (policy age). */
  certMaxAgeDays: number;
  /** An API key not used (or, never used, created) for this many days is a finding. */
  apiKeyUnusedDays: number;
  /** A device allowed to publish on more channels than this is a finding. */
  maxPublishChannels: number;
  /** A device on a version for which a newer artifact of its type is this old is a finding. */
  firmwareStaleDays: number;
  /** An organization CA expiring within this many days is a finding. */
  caExpiryDays: number;
}

export const DEFAULT_AUDIT_CHECK_CONFIG: AuditCheckConfig = {
  certExpiryDays: 30,
  // Device certificates live a year by default and are renewed before expiry; a live one older
  // than that was issued with a longer validity than the hub's policy.
  certMaxAgeDays: 365,
  apiKeyUnusedDays: 90,
  maxPublishChannels: 20,
  firmwareStaleDays: 180,
  // CAs live for years; three months is time to plan a rotation.
  caExpiryDays: 90,
};

export const DAY_MS = 86_400_000;

/** `2026-05-01` */
export const day = (t: number): string => new Date(t).toISOString().slice(0, 10);

/** A device as messages name it: `"name" (id)`. */
export const deviceName = (d: { id: string; name: string }): string => `"${d.name}" (${d.id})`;
