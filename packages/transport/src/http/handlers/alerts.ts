import type {
  AlertActor,
  AlertComment,
  AlertRecord,
  BreakerState,
  DeliveryRecord,
  NotificationEndpointRecord,
  NotificationRuleRecord,
} from '@bulwark/core';
import type {
  AlertCommentView,
  AlertView,
  DeliveryView,
  EndpointView,
  NotificationRuleView,
} from '@bulwark/protocol';
import { principalOf, type HandlerContext, type Handlers, type HttpServices } from '../context.js';

type AlertHandlers = Pick<
  Handlers,
  | 'listAlerts'
  | 'listAlertGroups'
  | 'getAlert'
  | 'acknowledgeAlert'
  | 'resolveAlert'
  | 'assignAlert'
  | 'commentAlert'
  | 'muteAlert'
  | 'listNotificationEndpoints'
  | 'createNotificationEndpoint'
  | 'getNotificationEndpoint'
  | 'updateNotificationEndpoint'
  | 'deleteNotificationEndpoint'
  | 'testNotificationEndpoint'
  | 'listNotificationRules'
  | 'createNotificationRule'
  | 'getNotificationRule'
  | 'updateNotificationRule'
  | 'deleteNotificationRule'
  | 'listNotificationDeliveries'
  | 'redriveNotificationDelivery'
>;

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** Alert record → API view. */
export const alertView = (a: AlertRecord): AlertView => ({
  id: a.id,
  deviceId: a.deviceId,
  kind: a.kind,
  severity: a.severity,
  state: a.state,
  title: a.title,
  dedupKey: a.dedupKey,
  groupKey: a.groupKey,
  evidence: a.evidence,
  occurrences: a.occurrences,
  openedAt: iso(a.openedAt),
  lastSeenAt: iso(a.lastSeenAt),
  acknowledgedAt: isoOrNull(a.acknowledgedAt),
  acknowledgedBy: a.acknowledgedBy,
  resolvedAt: isoOrNull(a.resolvedAt),
  resolvedBy: a.resolvedBy,
  assignee: a.assignee,
  mutedUntil: isoOrNull(a.mutedUntil),
  muteReason: a.muteReason,
});

const commentView = (c: AlertComment): AlertCommentView => ({
  id: c.id,
  author: c.author,
  body: c.body,
  at: iso(c.at),
});

/** Endpoint record → API view: secrets are never in it, only whether they are set. */
export const endpointView = (
  e: NotificationEndpointRecord,
  breaker: { state: BreakerState; openUntil: number | null },
): EndpointView => {
  const s = e.settings;
  return {
    id: e.id,
    name: e.name,
    kind: s.kind,
    enabled: e.enabled,
    webhook:
      s.kind === 'webhook'
        ? { format: s.format, origin: s.origin, caPem: s.caPem, secretSet: true }
        : null,
    email:
      s.kind === 'email'
        ? {
            host: s.host,
            port: s.port,
            security: s.security,
            username: s.username,
            passwordSet: s.passwordSet,
            from: s.from,
            to: s.to,
            caPem: s.caPem,
          }
        : null,
    breaker: {
      state: breaker.state,
      consecutiveFailures: e.consecutiveFailures,
      openUntil: isoOrNull(breaker.openUntil),
    },
    lastSuccessAt: isoOrNull(e.lastSuccessAt),
    lastFailureAt: isoOrNull(e.lastFailureAt),
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
};

const ruleView = (r: NotificationRuleRecord): NotificationRuleView => ({
  id: r.id,
  name: r.name,
  enabled: r.enabled,
  locationId: r.locationId,
  minSeverity: r.minSeverity,
  kinds: r.kinds,
  endpointIds: r.endpointIds,
  notifyResolved: r.notifyResolved,
  escalation: r.escalation,
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
});

const deliveryView = (d: DeliveryRecord): DeliveryView => ({
  id: d.id,
  endpointId: d.endpointId,
  alertId: d.alertId,
  ruleId: d.ruleId,
  event: d.event,
  state: d.state,
  attempts: d.attempts,
  nextAttemptAt: iso(d.nextAttemptAt),
  lastError: d.lastError,
  payload: d.payload,
  createdAt: iso(d.createdAt),
  updatedAt: iso(d.updatedAt),
  deliveredAt: isoOrNull(d.deliveredAt),
});

/** The caller as an alert records it. */
const actorOf = (ctx: HandlerContext): AlertActor => {
  const p = principalOf(ctx);
  return { type: p.kind === 'user' ? 'user' : 'api_key', id: p.id };
};

const org = (ctx: HandlerContext) => principalOf(ctx).orgId;

/** Alerts and their notifications (decision 0030). Every change is audited by the app. */
export function alertHandlers(s: HttpServices): AlertHandlers {
  const view = (e: NotificationEndpointRecord) => endpointView(e, s.notifications.breakerOf(e));
  return {
    listAlerts: async ({ query }, ctx) => {
      const q = query ?? {};
      const page = await s.alerts.list(
        org(ctx),
        {
          ...(q.state === 'active' ? { active: true } : q.state ? { state: q.state } : {}),
          ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : {}),
          ...(q.kind !== undefined ? { kind: q.kind } : {}),
          ...(q.severity !== undefined ? { severity: q.severity } : {}),
          ...(q.groupKey !== undefined ? { groupKey: q.groupKey } : {}),
          ...(q.assignee !== undefined ? { assignee: q.assignee } : {}),
        },
        { limit: q.limit ?? 50, cursor: q.cursor ?? null },
      );
      return { items: page.items.map(alertView), nextCursor: page.nextCursor };
    },
    listAlertGroups: async (_input, ctx) => ({
      items: (await s.alerts.groups(org(ctx))).map((g) => ({
        ...g,
        lastSeenAt: iso(g.lastSeenAt),
      })),
    }),
    getAlert: async ({ params }, ctx) => {
      const a = await s.alerts.get(org(ctx), params.id);
      const comments = await s.alerts.comments(org(ctx), params.id);
      return { ...alertView(a), comments: comments.map(commentView) };
    },
    acknowledgeAlert: async ({ params }, ctx) => {
      const a = await s.alerts.acknowledge(org(ctx), params.id, actorOf(ctx));
      ctx.audit.detail = { kind: a.kind, deviceId: a.deviceId };
      return alertView(a);
    },
    resolveAlert: async ({ params }, ctx) => {
      const a = await s.alerts.resolveById(org(ctx), params.id, actorOf(ctx));
      ctx.audit.detail = { kind: a.kind, deviceId: a.deviceId };
      return alertView(a);
    },
    assignAlert: async ({ params, body }, ctx) => {
      ctx.audit.detail = { assignee: body.userId };
      return alertView(await s.alerts.assign(org(ctx), params.id, body.userId));
    },
    commentAlert: async ({ params, body }, ctx) => {
      const c = await s.alerts.comment(org(ctx), params.id, body.body, actorOf(ctx));
      ctx.audit.detail = { commentId: c.id };
      return commentView(c);
    },
    muteAlert: async ({ params, body }, ctx) => {
      ctx.audit.detail = { minutes: body.minutes, reason: body.reason ?? null };
      const forMs = body.minutes === null ? null : body.minutes * 60_000;
      return alertView(await s.alerts.mute(org(ctx), params.id, forMs, body.reason ?? null));
    },

    listNotificationEndpoints: async (_input, ctx) =>
      (await s.notifications.listEndpoints(org(ctx))).map(view),
    createNotificationEndpoint: async ({ body }, ctx) => {
      ctx.audit.detail = { name: body.name, kind: body.kind };
      const e = await s.notifications.createEndpoint(org(ctx), body);
      ctx.audit.targetId = e.id;
      return view(e);
    },
    getNotificationEndpoint: async ({ params }, ctx) =>
      view(await s.notifications.getEndpoint(org(ctx), params.id)),
    updateNotificationEndpoint: async ({ params, body }, ctx) => {
      // Which fields changed, never their values (a secret or URL must not reach the audit log).
      ctx.audit.detail = { changed: Object.keys(body).sort() };
      return view(await s.notifications.updateEndpoint(org(ctx), params.id, body));
    },
    deleteNotificationEndpoint: ({ params }, ctx) =>
      s.notifications.deleteEndpoint(org(ctx), params.id),
    testNotificationEndpoint: async ({ params }, ctx) =>
      deliveryView(await s.notifications.testEndpoint(org(ctx), params.id)),
    listNotificationRules: async (_input, ctx) =>
      (await s.notifications.listRules(org(ctx))).map(ruleView),
    createNotificationRule: async ({ body }, ctx) => {
      ctx.audit.detail = { ...body };
      const r = await s.notifications.createRule(org(ctx), body);
      ctx.audit.targetId = r.id;
      return ruleView(r);
    },
    getNotificationRule: async ({ params }, ctx) =>
      ruleView(await s.notifications.getRule(org(ctx), params.id)),
    updateNotificationRule: async ({ params, body }, ctx) => {
      ctx.audit.detail = { ...body };
      return ruleView(await s.notifications.updateRule(org(ctx), params.id, body));
    },
    deleteNotificationRule: ({ params }, ctx) => s.notifications.deleteRule(org(ctx), params.id),
    listNotificationDeliveries: async ({ query }, ctx) => {
      const q = query ?? {};
      const page = await s.notifications.listDeliveries(
        org(ctx),
        {
          ...(q.state !== undefined ? { state: q.state } : {}),
          ...(q.endpointId !== undefined ? { endpointId: q.endpointId } : {}),
          ...(q.alertId !== undefined ? { alertId: q.alertId } : {}),
        },
        { limit: q.limit ?? 50, cursor: q.cursor ?? null },
      );
      return { items: page.items.map(deliveryView), nextCursor: page.nextCursor };
    },
    redriveNotificationDelivery: async ({ params }, ctx) => {
      const d = await s.notifications.redrive(org(ctx), params.id);
      ctx.audit.detail = { endpointId: d.endpointId, alertId: d.alertId };
      return deliveryView(d);
    },
  };
}
