import type { RuleRecord } from '@bulwark/core';
import type { RuleView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type RuleHandlers = Pick<
  Handlers,
  | 'listRules'
  | 'createRule'
  | 'testRule'
  | 'getRule'
  | 'updateRule'
  | 'deleteRule'
  | 'enableRule'
  | 'disableRule'
>;

const iso = (ms: number) => new Date(ms).toISOString();

/** A rule as the API shows it. */
const ruleView = (r: RuleRecord): RuleView => ({
  id: r.id,
  name: r.name,
  description: r.description,
  enabled: r.enabled,
  record: r.record,
  condition: r.condition,
  forSeconds: r.forSeconds,
  scope: r.scope,
  actions: r.actions,
  createdBy: r.createdBy,
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
});

/** What the audit log keeps of a rule: enough to see what it did at the time. */
const auditOf = (r: RuleRecord): Record<string, unknown> => ({
  name: r.name,
  enabled: r.enabled,
  record: r.record,
  condition: r.condition,
  forSeconds: r.forSeconds,
  scope: r.scope,
  actions: r.actions,
});

/** Rules on telemetry (decision 0035); the app audits every change with these details. */
export function ruleHandlers(s: HttpServices): RuleHandlers {
  return {
    listRules: async ({ query }, ctx) => {
      const q = query ?? {};
      const page = await s.rules.list(principalOf(ctx).orgId, {
        limit: q.limit ?? 50,
        cursor: q.cursor ?? null,
      });
      return { items: page.items.map(ruleView), nextCursor: page.nextCursor };
    },
    createRule: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      const r = await s.rules.create(p.orgId, p.id, body, p);
      ctx.audit.targetId = r.id;
      ctx.audit.detail = auditOf(r);
      return ruleView(r);
    },
    testRule: async ({ body }, ctx) => s.rules.test(principalOf(ctx).orgId, body),
    getRule: async ({ params }, ctx) =>
      ruleView(await s.rules.get(principalOf(ctx).orgId, params.id)),
    updateRule: async ({ params, body }, ctx) => {
      const p = principalOf(ctx);
      const r = await s.rules.update(p.orgId, params.id, body, p);
      ctx.audit.detail = { changed: Object.keys(body), ...auditOf(r) };
      return ruleView(r);
    },
    deleteRule: async ({ params }, ctx) => {
      const r = await s.rules.delete(principalOf(ctx).orgId, params.id);
      ctx.audit.detail = auditOf(r);
    },
    enableRule: async ({ params }, ctx) => {
      const r = await s.rules.setEnabled(principalOf(ctx).orgId, params.id, true);
      ctx.audit.detail = { name: r.name, enabled: true };
      return ruleView(r);
    },
    disableRule: async ({ params }, ctx) => {
      const r = await s.rules.setEnabled(principalOf(ctx).orgId, params.id, false);
      ctx.audit.detail = { name: r.name, enabled: false };
      return ruleView(r);
    },
  };
}
