/**
 * The detection engine's tables (decision 0034) behind DetectStore, in plain SQL both dialects run
 * (`?` placeholders; each adapter supplies its runner). Baselines are one row per device and key,
 * their data a short JSON text; both tables go with their organization (and device).
 */
import type { DetectBaselineRecord, DetectRuleSettingRecord, DetectStore } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';

/** The detection tables. `int` is BIGINT on PostgreSQL and INTEGER on SQLite. */
export function detectSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE detect_rule_settings (
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  rule_id text NOT NULL,
  settings_json text NOT NULL,
  updated_by text,
  updated_at ${int} NOT NULL,
  PRIMARY KEY (org_id, rule_id)
);
CREATE TABLE detect_baselines (
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  baseline_key text NOT NULL,
  data_json text NOT NULL,
  updated_at ${int} NOT NULL,
  PRIMARY KEY (org_id, device_id, baseline_key)
);
`;
}

interface SettingRow {
  org_id: string;
  rule_id: string;
  settings_json: string;
  updated_by: string | null;
  updated_at: number | string;
}

interface BaselineRow {
  org_id: string;
  device_id: string;
  baseline_key: string;
  data_json: string;
  updated_at: number | string;
}

/** Rows per INSERT: 5 parameters each, far below either database's parameter limit. */
const ROWS_PER_STATEMENT = 200;

/** DetectStore on one runner. */
export function createDetectStore(db: SqlRunner): DetectStore {
  return {
    async listRuleSettings(orgId) {
      const rows = await db.all<SettingRow>(
        'SELECT * FROM detect_rule_settings WHERE org_id = ? ORDER BY rule_id',
        [orgId],
      );
      return rows.map((r): DetectRuleSettingRecord => ({
        orgId: r.org_id,
        ruleId: r.rule_id,
        settings: r.settings_json,
        updatedBy: r.updated_by,
        updatedAt: Number(r.updated_at),
      }));
    },
    async putRuleSetting(rec) {
      await db.run(
        `INSERT INTO detect_rule_settings (org_id, rule_id, settings_json, updated_by, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (org_id, rule_id) DO UPDATE SET settings_json = excluded.settings_json,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
        [rec.orgId, rec.ruleId, rec.settings, rec.updatedBy, rec.updatedAt],
      );
    },
    async getBaselines(orgId, deviceId) {
      const rows = await db.all<BaselineRow>(
        `SELECT * FROM detect_baselines WHERE org_id = ? AND device_id = ? ORDER BY baseline_key`,
        [orgId, deviceId],
      );
      return rows.map((r): DetectBaselineRecord => ({
        orgId: r.org_id,
        deviceId: r.device_id,
        key: r.baseline_key,
        data: r.data_json,
        updatedAt: Number(r.updated_at),
      }));
    },
    async putBaselines(rows) {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
        // One device's row twice in a statement is refused by PostgreSQL: the last one wins.
        const last = new Map(chunk.map((r) => [`${r.orgId}|${r.deviceId}|${r.key}`, r]));
        const batch = [...last.values()];
        await db.run(
          `INSERT INTO detect_baselines (org_id, device_id, baseline_key, data_json, updated_at)
           VALUES ${batch.map(() => '(?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (org_id, device_id, baseline_key) DO UPDATE SET
             data_json = excluded.data_json, updated_at = excluded.updated_at`,
          batch.flatMap((r) => [r.orgId, r.deviceId, r.key, r.data, r.updatedAt]),
        );
      }
    },
  };
}
