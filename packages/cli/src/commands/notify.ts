/**
 * `bulwark notify …` (decision 0030): where alerts go. Endpoints (signed webhooks, email through
 * SMTP; their secrets are sealed by the hub and never shown), routing rules (location subtree ×
 * severity × kinds → endpoints, with escalation), the delivery queue with its dead letters, and
 * maintenance windows (alerts still recorded, their notifications held back). Creating and
 * changing need `notifications:manage`.
 */
import type {
  CreateEndpointRequest,
  CreateNotificationRuleRequest,
  DeliveryView,
  EndpointView,
  MaintenanceWindowView,
  NotificationRuleView,
  UpdateEndpointRequest,
  UpdateNotificationRuleRequest,
} from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields, formatTable, listJson, type Column } from '../output.js';
import { PAGE_OPTIONS, printList } from './management-args.js';
import { readJson } from './read-json.js';

const DELIVERY_STATES = ['pending', 'delivered', 'dead', 'canceled'] as const;

const ENDPOINT_COLUMNS: Column<EndpointView>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'NAME', value: (e) => e.name },
  { header: 'KIND', value: (e) => e.kind },
  { header: 'ENABLED', value: (e) => e.enabled },
  { header: 'TARGET', value: (e) => endpointTarget(e) },
  { header: 'BREAKER', value: (e) => e.breaker.state },
  { header: 'LAST SUCCESS', value: (e) => e.lastSuccessAt },
];

const RULE_COLUMNS: Column<NotificationRuleView>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.name },
  { header: 'ENABLED', value: (r) => r.enabled },
  { header: 'LOCATION', value: (r) => r.locationId ?? 'organization' },
  { header: 'MIN SEVERITY', value: (r) => r.minSeverity },
  { header: 'KINDS', value: (r) => (r.kinds.length === 0 ? 'any' : r.kinds.join(',')) },
  { header: 'ENDPOINTS', value: (r) => r.endpointIds.length },
  { header: 'ESCALATION', value: (r) => escalationText(r) },
];

const DELIVERY_COLUMNS: Column<DeliveryView>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'EVENT', value: (d) => d.event },
  { header: 'STATE', value: (d) => d.state },
  { header: 'ENDPOINT', value: (d) => d.endpointId },
  { header: 'ALERT', value: (d) => d.alertId },
  { header: 'ATTEMPTS', value: (d) => d.attempts },
  { header: 'LAST ERROR', value: (d) => d.lastError },
  { header: 'CREATED', value: (d) => d.createdAt },
];

const WINDOW_COLUMNS: Column<MaintenanceWindowView>[] = [
  { header: 'ID', value: (w) => w.id },
  { header: 'STATUS', value: (w) => w.status },
  { header: 'LOCATION', value: (w) => w.locationId ?? 'organization' },
  { header: 'KINDS', value: (w) => (w.kinds.length === 0 ? 'any' : w.kinds.join(',')) },
  { header: 'STARTS', value: (w) => w.startsAt },
  { header: 'ENDS', value: (w) => w.endsAt },
  { header: 'REASON', value: (w) => w.reason },
];

/** `--start`/`--end` as ISO dates; `--minutes N` is an end N minutes after the start. */
function windowTimes(ctx: Context): { startsAt?: string; endsAt: string } {
  const start = ctx.str('start');
  const end = ctx.str('end');
  const minutes = ctx.int('minutes');
  if ((end === undefined) === (minutes === undefined))
    throw ctx.usage('give exactly one of --end and --minutes');
  const iso = (v: string, flag: string) => {
    const ms = Date.parse(v);
    if (!Number.isFinite(ms))
      throw ctx.usage(`--${flag} must be a date (e.g. 2026-12-24T18:00:00Z)`);
    return new Date(ms).toISOString();
  };
  const startsAt = start === undefined ? undefined : iso(start, 'start');
  if (end !== undefined)
    return { ...(startsAt !== undefined ? { startsAt } : {}), endsAt: iso(end, 'end') };
  if (minutes === 0) throw ctx.usage('--minutes must be at least 1');
  const from = startsAt === undefined ? Date.now() : Date.parse(startsAt);
  return {
    ...(startsAt !== undefined ? { startsAt } : {}),
    endsAt: new Date(from + (minutes ?? 0) * 60_000).toISOString(),
  };
}

const showWindow = (ctx: Context, w: MaintenanceWindowView) =>
  ctx.print(w, () =>
    formatFields([
      ['id', w.id],
      ['status', w.status],
      ['location', w.locationId ?? 'the whole organization'],
      ['kinds', w.kinds.length === 0 ? 'any' : w.kinds.join(', ')],
      ['starts', w.startsAt],
      ['ends', w.endsAt],
      ['reason', w.reason],
      ['created by', w.createdBy],
    ]),
  );

/** Where an endpoint sends, without its secrets (the hub keeps a webhook's full URL sealed). */
function endpointTarget(e: EndpointView): string {
  if (e.webhook) return `${e.webhook.origin} (${e.webhook.format})`;
  if (e.email) return `${e.email.to.join(',')} via ${e.email.host}:${e.email.port}`;
  return '';
}

const escalationText = (r: NotificationRuleView): string =>
  r.escalation === null
    ? 'none'
    : `after ${r.escalation.afterMinutes} min → ${r.escalation.endpointIds.length} endpoint(s)`;

/** The JSON object in `--file`, with the file named in any error. */
function objectFile(ctx: Context, what: string): Record<string, unknown> {
  const file = ctx.need('file');
  const v = readJson(file);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new CliError(`${file} must hold one JSON object (${what})`);
  return v as Record<string, unknown>;
}

const FILE = (what: string) => ({
  file: { type: 'string' as const, value: 'FILE', help: `${what} as JSON (required)` },
});

const showEndpoint = (ctx: Context, e: EndpointView) =>
  ctx.print(e, () =>
    formatFields([
      ['id', e.id],
      ['name', e.name],
      ['kind', e.kind],
      ['enabled', e.enabled],
      ['target', endpointTarget(e)],
      ['secret set', e.webhook ? e.webhook.secretSet : e.email?.passwordSet],
      ['own CA', (e.webhook?.caPem ?? e.email?.caPem ?? null) !== null],
      ['circuit breaker', e.breaker.state],
      ['consecutive failures', e.breaker.consecutiveFailures],
      ['open until', e.breaker.openUntil],
      ['last success', e.lastSuccessAt],
      ['last failure', e.lastFailureAt],
    ]),
  );

const showRule = (ctx: Context, r: NotificationRuleView) =>
  ctx.print(r, () =>
    formatFields([
      ['id', r.id],
      ['name', r.name],
      ['enabled', r.enabled],
      ['location', r.locationId ?? 'the whole organization'],
      ['min severity', r.minSeverity],
      ['kinds', r.kinds.length === 0 ? 'any' : r.kinds.join(', ')],
      ['endpoints', r.endpointIds.join(', ')],
      ['on resolve', r.notifyResolved],
      ['escalation', escalationText(r)],
    ]),
  );

/** `bulwark notify endpoints|endpoint …|rules|rule …|deliveries|redrive|windows|window …`. */
export const notifyCommands: Command[] = [
  {
    path: ['notify', 'endpoints'],
    summary: 'List notification endpoints (webhooks and email); their secrets are never shown.',
    run: async (ctx) => {
      const items = await ctx.client().notifications.endpoints.list();
      ctx.print(listJson(items), () => formatTable(items, ENDPOINT_COLUMNS));
    },
  },
  {
    path: ['notify', 'endpoint', 'show'],
    args: ['ID'],
    summary: 'Show one endpoint with its circuit breaker.',
    run: async (ctx) =>
      showEndpoint(ctx, await ctx.client().notifications.endpoints.get(ctx.args[0] ?? '')),
  },
  {
    path: ['notify', 'endpoint', 'create'],
    summary:
      'Create an endpoint from a JSON file: {"kind":"webhook","name","url","secret","format":"json"|"slack","caPem"} or {"kind":"email","name","host","port","security","username","password","from","to":[…]}.',
    options: FILE('the endpoint'),
    run: async (ctx) => {
      const body = objectFile(ctx, 'the endpoint') as unknown as CreateEndpointRequest;
      showEndpoint(ctx, await ctx.client().notifications.endpoints.create(body));
    },
  },
  {
    path: ['notify', 'endpoint', 'update'],
    args: ['ID'],
    summary: 'Change fields of an endpoint from a JSON file (a new secret replaces the old one).',
    options: FILE('the fields to change'),
    run: async (ctx) => {
      const body = objectFile(ctx, 'the fields to change') as unknown as UpdateEndpointRequest;
      showEndpoint(ctx, await ctx.client().notifications.endpoints.update(ctx.args[0] ?? '', body));
    },
  },
  {
    path: ['notify', 'endpoint', 'delete'],
    args: ['ID'],
    summary: 'Delete an endpoint.',
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().notifications.endpoints.delete(id);
      ctx.print({ id, deleted: true }, () => `endpoint ${id} deleted\n`);
    },
  },
  {
    path: ['notify', 'endpoint', 'test'],
    args: ['ID'],
    summary: 'Queue a test message to an endpoint (see it with `bulwark notify deliveries`).',
    run: async (ctx) => {
      const d = await ctx.client().notifications.endpoints.test(ctx.args[0] ?? '');
      ctx.print(d, () => `test delivery ${d.id} queued\n`);
    },
  },
  {
    path: ['notify', 'rules'],
    summary: 'List routing rules: which alerts (location, severity, kinds) go to which endpoints.',
    run: async (ctx) => {
      const items = await ctx.client().notifications.rules.list();
      ctx.print(listJson(items), () => formatTable(items, RULE_COLUMNS));
    },
  },
  {
    path: ['notify', 'rule', 'show'],
    args: ['ID'],
    summary: 'Show one routing rule.',
    run: async (ctx) =>
      showRule(ctx, await ctx.client().notifications.rules.get(ctx.args[0] ?? '')),
  },
  {
    path: ['notify', 'rule', 'create'],
    summary:
      'Create a routing rule from a JSON file: {"name","locationId","minSeverity","kinds":[…],"endpointIds":[…],"notifyResolved","escalation":{"afterMinutes","endpointIds"}}.',
    options: FILE('the rule'),
    run: async (ctx) => {
      const body = objectFile(ctx, 'the rule') as unknown as CreateNotificationRuleRequest;
      showRule(ctx, await ctx.client().notifications.rules.create(body));
    },
  },
  {
    path: ['notify', 'rule', 'update'],
    args: ['ID'],
    summary: 'Change fields of a routing rule from a JSON file.',
    options: FILE('the fields to change'),
    run: async (ctx) => {
      const body = objectFile(
        ctx,
        'the fields to change',
      ) as unknown as UpdateNotificationRuleRequest;
      showRule(ctx, await ctx.client().notifications.rules.update(ctx.args[0] ?? '', body));
    },
  },
  {
    path: ['notify', 'rule', 'delete'],
    args: ['ID'],
    summary: 'Delete a routing rule.',
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().notifications.rules.delete(id);
      ctx.print({ id, deleted: true }, () => `rule ${id} deleted\n`);
    },
  },
  {
    path: ['notify', 'deliveries'],
    summary: 'List deliveries, newest first (--state dead: the dead letters).',
    options: {
      state: { type: 'string', value: 'S', help: DELIVERY_STATES.join(', ') },
      ...PAGE_OPTIONS,
    },
    run: async (ctx) => {
      const query = { state: ctx.choice('state', DELIVERY_STATES), limit: ctx.int('limit') };
      const client = ctx.client();
      await printList(
        ctx,
        DELIVERY_COLUMNS,
        (cursor) => client.notifications.deliveries.list({ ...query, cursor }),
        () => client.notifications.deliveries.all(query),
      );
    },
  },
  {
    path: ['notify', 'redrive'],
    args: ['ID'],
    summary: 'Queue a dead-lettered delivery again.',
    run: async (ctx) => {
      const d = await ctx.client().notifications.deliveries.redrive(ctx.args[0] ?? '');
      ctx.print(d, () => `delivery ${d.id} queued again (${d.state})\n`);
    },
  },
  {
    path: ['notify', 'windows'],
    summary:
      'List maintenance windows, soonest first: scheduled and active ones (--all: ended ones too).',
    options: { all: { type: 'boolean', help: 'also the windows that have ended' } },
    run: async (ctx) => {
      const items = await ctx
        .client()
        .notifications.windows.list(ctx.flag('all') ? { includeEnded: true } : {});
      ctx.print(listJson(items), () => formatTable(items, WINDOW_COLUMNS));
    },
  },
  {
    path: ['notify', 'window', 'show'],
    args: ['ID'],
    summary: 'Show one maintenance window.',
    run: async (ctx) =>
      showWindow(ctx, await ctx.client().notifications.windows.get(ctx.args[0] ?? '')),
  },
  {
    path: ['notify', 'window', 'create'],
    summary:
      'Schedule a maintenance window (at most 30 days): alerts are still recorded, their notifications and escalations held back until it ends, then sent if the alert is still active.',
    options: {
      reason: { type: 'string', value: 'TEXT', help: 'why (required; shown and audited)' },
      start: { type: 'string', value: 'DATE', help: 'when it starts (ISO 8601; default now)' },
      end: { type: 'string', value: 'DATE', help: 'when it ends (ISO 8601)' },
      minutes: { type: 'string', value: 'N', help: 'or: how long it lasts, in minutes' },
      location: {
        type: 'string',
        value: 'ID',
        help: 'only devices in this location and below (default: the whole organization)',
      },
      kind: {
        type: 'string',
        value: 'KIND',
        multiple: true,
        help: 'only alerts of this kind (repeatable; default: every kind)',
      },
    },
    run: async (ctx) => {
      const reason = ctx.need('reason');
      const location = ctx.str('location');
      const kinds = ctx.strs('kind');
      const w = await ctx.client().notifications.windows.create({
        ...windowTimes(ctx),
        reason,
        ...(location !== undefined ? { locationId: location } : {}),
        ...(kinds.length > 0 ? { kinds } : {}),
      });
      showWindow(ctx, w);
    },
  },
  {
    path: ['notify', 'window', 'delete'],
    args: ['ID'],
    summary: 'Delete a maintenance window (ending it early: held notifications go out).',
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().notifications.windows.delete(id);
      ctx.print({ id, deleted: true }, () => `maintenance window ${id} deleted\n`);
    },
  },
];
