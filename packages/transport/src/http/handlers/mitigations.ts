import type { MitigationPolicyRecord, MitigationRecord } from '@bulwark/core';
import type { MitigationPolicyView, MitigationView } from '@bulwark/protocol';
import { principalOf, type HandlerContext, type Handlers, type HttpServices } from '../context.js';

type MitigationHandlers = Pick<
  Handlers,
  | 'mitigateDevice'
  | 'mitigateSource'
  | 'listMitigations'
  | 'getMitigation'
  | 'revertMitigation'
  | 'listMitigationPolicies'
  | 'createMitigationPolicy'
  | 'getMitigationPolicy'
  | 'updateMitigationPolicy'
  | 'deleteMitigationPolicy'
>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Mitigation record → API view. */
export const mitigationView = (m: MitigationRecord): MitigationView => ({
  id: m.id,
  deviceId: m.deviceId,
  alertId: m.alertId,
  policyId: m.policyId,
  actor: m.actor,
  action: m.action,
  params: m.params,
  state: m.state,
  reason: m.reason,
  summary: m.summary,
  previous: m.previous,
  error: m.error,
  at: iso(m.at),
  revertedAt: m.revertedAt === null ? null : iso(m.revertedAt),
  revertedBy: m.revertedBy,
});

const policyView = (p: MitigationPolicyRecord): MitigationPolicyView => ({
  id: p.id,
  name: p.name,
  enabled: p.enabled,
  kinds: p.kinds,
  minSeverity: p.minSeverity,
  locationId: p.locationId,
  action: p.action,
  params: p.params,
  dryRun: p.dryRun,
  createdBy: `${p.createdBy.type}:${p.createdBy.id}`,
  createdAt: iso(p.createdAt),
  updatedAt: iso(p.updatedAt),
});

const caller = (ctx: HandlerContext) => ({ principal: principalOf(ctx), source: ctx.source });
const org = (ctx: HandlerContext) => principalOf(ctx).orgId;

/**
 * Mitigations (decision 0036). The service records and audits each action with what it did; the
 * app audits the request as for every change.
 */
export function mitigationHandlers(s: HttpServices): MitigationHandlers {
  return {
    mitigateDevice: async ({ params, body }, ctx) => {
      ctx.audit.detail = {
        action: body.action,
        dryRun: body.dryRun ?? false,
        alertId: body.alertId ?? null,
      };
      const m = await s.mitigations.mitigate(caller(ctx), params.id, {
        action: body.action,
        ...(body.params !== undefined ? { params: body.params } : {}),
        ...(body.dryRun !== undefined ? { dryRun: body.dryRun } : {}),
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        ...(body.alertId !== undefined ? { alertId: body.alertId } : {}),
      });
      ctx.audit.detail = { ...ctx.audit.detail, mitigationId: m.id, state: m.state };
      return mitigationView(m);
    },
    mitigateSource: async ({ body }, ctx) => {
      ctx.audit.detail = {
        action: body.action,
        dryRun: body.dryRun ?? false,
        alertId: body.alertId ?? null,
      };
      const m = await s.mitigations.mitigateSource(caller(ctx), {
        action: body.action,
        ...(body.params !== undefined ? { params: body.params } : {}),
        ...(body.dryRun !== undefined ? { dryRun: body.dryRun } : {}),
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        ...(body.alertId !== undefined ? { alertId: body.alertId } : {}),
      });
      if (typeof m.params.source === 'string') ctx.audit.targetId = m.params.source;
      ctx.audit.detail = { ...ctx.audit.detail, mitigationId: m.id, state: m.state };
      return mitigationView(m);
    },
    listMitigations: async ({ query }, ctx) => {
      const q = query ?? {};
      const page = await s.mitigations.list(
        org(ctx),
        {
          ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : {}),
          ...(q.alertId !== undefined ? { alertId: q.alertId } : {}),
          ...(q.state !== undefined ? { state: q.state } : {}),
        },
        { limit: q.limit ?? 50, cursor: q.cursor ?? null },
      );
      return { items: page.items.map(mitigationView), nextCursor: page.nextCursor };
    },
    getMitigation: async ({ params }, ctx) =>
      mitigationView(await s.mitigations.get(org(ctx), params.id)),
    revertMitigation: async ({ params }, ctx) => {
      const m = await s.mitigations.revert(caller(ctx), params.id);
      ctx.audit.detail = { action: m.action, deviceId: m.deviceId };
      return mitigationView(m);
    },
    listMitigationPolicies: async (_input, ctx) =>
      (await s.mitigations.listPolicies(org(ctx))).map(policyView),
    createMitigationPolicy: async ({ body }, ctx) => {
      ctx.audit.detail = { ...body };
      const p = await s.mitigations.createPolicy(caller(ctx), body);
      ctx.audit.targetId = p.id;
      return policyView(p);
    },
    getMitigationPolicy: async ({ params }, ctx) =>
      policyView(await s.mitigations.getPolicy(org(ctx), params.id)),
    updateMitigationPolicy: async ({ params, body }, ctx) => {
      ctx.audit.detail = { ...body };
      return policyView(await s.mitigations.updatePolicy(caller(ctx), params.id, body));
    },
    deleteMitigationPolicy: ({ params }, ctx) => s.mitigations.deletePolicy(org(ctx), params.id),
  };
}
