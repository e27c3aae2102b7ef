import type { DeviceDetectView, OrgDetectRule, RuleParams } from '@bulwark/core';
import type { DetectDeviceView, DetectRuleParamsView, DetectRuleView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type DetectHandlers = Pick<
  Handlers,
  'listDetectRules' | 'getDetectRule' | 'updateDetectRule' | 'getDeviceDetect'
>;

const iso = (ms: number) => new Date(ms).toISOString();

const paramsView = (p: RuleParams): DetectRuleParamsView => ({
  enabled: p.enabled,
  windowSeconds: p.windowSeconds,
  threshold: p.threshold,
  k: p.k,
  minDeviation: p.minDeviation,
  learningMinutes: p.learningMinutes,
  minLifetimeFraction: p.minLifetimeFraction,
  resolveAfterSeconds: p.resolveAfterSeconds,
  cooldownSeconds: p.cooldownSeconds,
});

const ruleView = (r: OrgDetectRule): DetectRuleView => ({
  id: r.rule.id,
  kind: r.rule.kind,
  severity: r.rule.severity,
  metric: r.rule.metric,
  per: r.rule.per,
  description: r.rule.description,
  settings: paramsView(r.settings),
  defaults: paramsView(r.rule.defaults),
  updatedAt: r.updatedAt === null ? null : iso(r.updatedAt),
});

const deviceView = (v: DeviceDetectView): DetectDeviceView => ({
  deviceId: v.deviceId,
  node: v.node,
  group: v.group,
  tracked: v.tracked,
  counters: v.counters,
  metrics: v.metrics.map((m) => ({
    ruleId: m.ruleId,
    metric: m.metric,
    windowSeconds: m.windowSeconds,
    current: m.current,
    baseline:
      m.baseline === null
        ? null
        : {
            ...m.baseline,
            learningEndsAt:
              m.baseline.learningEndsAt === null ? null : iso(m.baseline.learningEndsAt),
          },
    basis: m.basis,
    band: m.band,
    ...(m.knownPorts ? { knownPorts: m.knownPorts } : {}),
  })),
  gates: v.gates.map((g) => ({
    ruleId: g.ruleId,
    state: g.state,
    since: iso(g.since),
    lastBreachAt: iso(g.lastBreachAt),
    evidence: { ...g.evidence },
  })),
});

/** Detection rules and a device's baselines (decision 0034). */
export function detectHandlers(s: HttpServices): DetectHandlers {
  return {
    listDetectRules: async (_i, ctx) => (await s.detect.list(principalOf(ctx).orgId)).map(ruleView),
    getDetectRule: async ({ params }, ctx) =>
      ruleView(await s.detect.get(principalOf(ctx).orgId, params.id)),
    updateDetectRule: async ({ params, body }, ctx) => {
      const p = principalOf(ctx);
      // The audit log keeps who changed which rule to what.
      ctx.audit.detail = { rule: params.id, ...body };
      return ruleView(await s.detect.update(p.orgId, params.id, body, p.id));
    },
    getDeviceDetect: async ({ params }, ctx) =>
      deviceView(await s.detect.device(principalOf(ctx).orgId, params.id)),
  };
}
