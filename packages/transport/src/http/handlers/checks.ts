import type {
  FindingWithSuppression,
  FirmwareAdvisoryRecord,
  SuppressionRecord,
} from '@bulwark/core';
import type { FindingView, FirmwareAdvisoryView, SuppressionView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type CheckHandlers = Pick<
  Handlers,
  | 'runChecks'
  | 'listFindings'
  | 'getFinding'
  | 'createSuppression'
  | 'listSuppressions'
  | 'deleteSuppression'
  | 'setFirmwareAdvisory'
  | 'clearFirmwareAdvisory'
  | 'listFirmwareAdvisories'
>;

const iso = (ms: number) => new Date(ms).toISOString();

const suppressionView = (s: SuppressionRecord): SuppressionView => ({
  id: s.id,
  checkId: s.checkId,
  resource: s.resource,
  reason: s.reason,
  createdBy: s.createdBy,
  createdAt: iso(s.createdAt),
  expiresAt: iso(s.expiresAt),
});

/** A finding as the API shows it: suppressed ones are listed, marked, with their suppression. */
const findingView = (f: FindingWithSuppression): FindingView => ({
  id: f.id,
  checkId: f.checkId,
  severity: f.severity,
  state: f.state,
  message: f.message,
  resources: f.resources,
  firstSeenAt: iso(f.firstSeenAt),
  lastSeenAt: iso(f.lastSeenAt),
  resolvedAt: f.resolvedAt === null ? null : iso(f.resolvedAt),
  suppressed: f.suppression !== null,
  suppression: f.suppression === null ? null : suppressionView(f.suppression),
});

const advisoryView = (a: FirmwareAdvisoryRecord): FirmwareAdvisoryView => ({
  artifactId: a.artifactId,
  status: a.status,
  reason: a.reason,
  setBy: a.setBy,
  setAt: iso(a.setAt),
});

/** Fleet audit checks and firmware advisories (decision 0031). */
export function checkHandlers(s: HttpServices): CheckHandlers {
  return {
    runChecks: async (_i, ctx) => {
      const r = await s.checks.run(principalOf(ctx).orgId);
      ctx.audit.detail = { open: r.open, new: r.new, resolved: r.resolved, hub: r.hubChecks };
      return {
        at: iso(r.at),
        hubChecks: r.hubChecks,
        open: r.open,
        new: r.new,
        resolved: r.resolved,
        bySeverity: r.bySeverity,
      };
    },
    listFindings: async ({ query }, ctx) => {
      const q = query ?? {};
      const page = await s.checks.list(
        principalOf(ctx).orgId,
        {
          ...(q.checkId !== undefined ? { checkId: q.checkId } : {}),
          ...(q.severity !== undefined ? { severity: q.severity } : {}),
          ...(q.state !== undefined ? { state: q.state } : {}),
        },
        { limit: q.limit ?? 50, cursor: q.cursor ?? null },
      );
      return { items: page.items.map(findingView), nextCursor: page.nextCursor };
    },
    getFinding: async ({ params }, ctx) =>
      findingView(await s.checks.get(principalOf(ctx).orgId, params.id)),
    createSuppression: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      // The audit log keeps who silenced what, why and until when.
      ctx.audit.detail = {
        checkId: body.checkId,
        resource: body.resource ?? null,
        reason: body.reason,
        ttlSeconds: body.ttlSeconds,
      };
      const created = await s.checks.suppress(p.orgId, p.id, body);
      ctx.audit.targetId = created.id;
      return suppressionView(created);
    },
    listSuppressions: async (_i, ctx) =>
      (await s.checks.listSuppressions(principalOf(ctx).orgId)).map(suppressionView),
    deleteSuppression: async ({ params }, ctx) => {
      await s.checks.unsuppress(principalOf(ctx).orgId, params.id);
    },
    setFirmwareAdvisory: async ({ params, body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.detail = { status: body.status, reason: body.reason };
      return advisoryView(await s.advisories.set(p.orgId, params.id, body, p.id));
    },
    clearFirmwareAdvisory: async ({ params }, ctx) => {
      await s.advisories.clear(principalOf(ctx).orgId, params.id);
    },
    listFirmwareAdvisories: async (_i, ctx) =>
      (await s.advisories.list(principalOf(ctx).orgId)).map(advisoryView),
  };
}
