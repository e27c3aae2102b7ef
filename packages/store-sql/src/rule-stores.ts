/**
 * The rules on telemetry table (decision 0035) behind RuleStore, in plain SQL both dialects run
 * (`?` placeholders; each adapter supplies its runner). A rule's definition (record, condition,
 * duration, scope, actions) is one JSON column: the store keeps it, the rule service checks it.
 */
import type { RuleDefinition, RulePatch, RuleRecord, RuleStore } from '@bulwark/core';
import { decodeIdCursor, encodeIdCursor } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';
import { pageOf } from './page.js';

/**
 * The rules table. `int` is BIGINT on PostgreSQL and INTEGER on SQLite; `idText` adds
 * PostgreSQL's "C" collation so ids sort byte-wise as in SQLite. A rule goes with its
 * organization. `enabled` is 0/1 in both.
 */
export function rulesSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE rules (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text NOT NULL,
  enabled ${int} NOT NULL,
  definition_json text NOT NULL,
  created_by text,
  created_at ${int} NOT NULL,
  updated_at ${int} NOT NULL
);
CREATE INDEX rules_org ON rules (org_id, id);
CREATE INDEX rules_enabled ON rules (org_id) WHERE enabled = 1;
`;
}

interface RuleRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  enabled: number | string;
  definition_json: string;
  created_by: string | null;
  created_at: number | string;
  updated_at: number | string;
}

const toRule = (r: RuleRow): RuleRecord => {
  const def = JSON.parse(r.definition_json) as RuleDefinition;
  return {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    description: r.description,
    enabled: Number(r.enabled) === 1,
    record: def.record,
    condition: def.condition,
    forSeconds: def.forSeconds,
    scope: def.scope,
    actions: def.actions,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
};

const definitionJson = (d: RuleDefinition): string =>
  JSON.stringify({
    record: d.record,
    condition: d.condition,
    forSeconds: d.forSeconds,
    scope: d.scope,
    actions: d.actions,
  });

const COLUMNS =
  'id, org_id, name, description, enabled, definition_json, created_by, created_at, updated_at';

/** RuleStore on a SQL runner. */
export function createRuleStore(db: SqlRunner): RuleStore {
  const get = async (orgId: string, id: string): Promise<RuleRecord | undefined> => {
    const rows = await db.all<RuleRow>(`SELECT ${COLUMNS} FROM rules WHERE org_id = ? AND id = ?`, [
      orgId,
      id,
    ]);
    return rows[0] === undefined ? undefined : toRule(rows[0]);
  };
  return {
    async create(rule) {
      await db.run(`INSERT INTO rules (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        rule.id,
        rule.orgId,
        rule.name,
        rule.description,
        rule.enabled ? 1 : 0,
        definitionJson(rule),
        rule.createdBy,
        rule.createdAt,
        rule.updatedAt,
      ]);
    },

    get,

    async list(orgId, page) {
      const params: unknown[] = [orgId];
      let where = 'org_id = ?';
      if (page.cursor) {
        where += ' AND id > ?';
        params.push(decodeIdCursor(page.cursor));
      }
      params.push(page.limit + 1);
      const rows = await db.all<RuleRow>(
        `SELECT ${COLUMNS} FROM rules WHERE ${where} ORDER BY id LIMIT ?`,
        params,
      );
      return pageOf(rows, page.limit, toRule, (r) => encodeIdCursor(r.id));
    },

    async count(orgId) {
      const rows = await db.all<{ n: number | string }>(
        'SELECT count(*) AS n FROM rules WHERE org_id = ?',
        [orgId],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async update(orgId, id, patch: RulePatch) {
      const cur = await get(orgId, id);
      if (!cur) return undefined;
      const next: RuleRecord = { ...cur, ...patch };
      const n = await db.run(
        `UPDATE rules SET name = ?, description = ?, enabled = ?, definition_json = ?,
           updated_at = ? WHERE org_id = ? AND id = ?`,
        [
          next.name,
          next.description,
          next.enabled ? 1 : 0,
          definitionJson(next),
          next.updatedAt,
          orgId,
          id,
        ],
      );
      return n > 0 ? next : undefined;
    },

    async delete(orgId, id) {
      return (await db.run('DELETE FROM rules WHERE org_id = ? AND id = ?', [orgId, id])) > 0;
    },

    async listEnabled(orgId) {
      const rows =
        orgId === undefined
          ? await db.all<RuleRow>(`SELECT ${COLUMNS} FROM rules WHERE enabled = 1 ORDER BY id`, [])
          : await db.all<RuleRow>(
              `SELECT ${COLUMNS} FROM rules WHERE org_id = ? AND enabled = 1 ORDER BY id`,
              [orgId],
            );
      return rows.map(toRule);
    },
  };
}
