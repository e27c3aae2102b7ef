/**
 * Storage of the detection engine (decision 0034): the organization's rule settings and each
 * device's learned baselines, compact (a bounded list of window values or a set of ports as JSON),
 * so baselines survive a restart and follow a device to another node.
 */

/** An organization's settings for one rule (only the fields it changed; the rest are defaults). */
export interface DetectRuleSettingRecord {
  orgId: string;
  ruleId: string;
  /** JSON of the changed settings. */
  settings: string;
  updatedBy: string | null;
  updatedAt: number;
}

/** One learned baseline of one device: `key` names it (the rule or metric), `data` is JSON. */
export interface DetectBaselineRecord {
  orgId: string;
  deviceId: string;
  key: string;
  data: string;
  updatedAt: number;
}

export interface DetectStore {
  /** The organization's changed rules. */
  listRuleSettings(orgId: string): Promise<DetectRuleSettingRecord[]>;
  /** Inserts or replaces the organization's settings of one rule. */
  putRuleSetting(rec: DetectRuleSettingRecord): Promise<void>;
  /** A device's baselines. */
  getBaselines(orgId: string, deviceId: string): Promise<DetectBaselineRecord[]>;
  /** Inserts or replaces baselines (one statement per row, in one transaction where it can). */
  putBaselines(rows: readonly DetectBaselineRecord[]): Promise<void>;
}
