/**
 * `bulwark checks run|list|show|suppress|unsuppress|suppressions` (decision 0031): the fleet audit
 * checks — expiring or shared certificates, over-broad keys and rights, users without a second
 * factor, flagged firmware, the hub's own listeners. (`bulwark audit` is the audit log.)
 */
import type { FindingQuery, FindingView, SuppressionView } from '@bulwark/protocol';
import { CHECK_IDS, FINDING_SEVERITIES } from '@bulwark/protocol/lite';
import type { Command, Context } from '../command.js';
import { formatFields, formatTable, listJson, type Column } from '../output.js';

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `30d`, `12h`, `3600` (seconds) → seconds. */
function seconds(ctx: Context, flag: string, text: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(text.trim());
  if (!m) throw ctx.usage(`--${flag} ${text}: give a duration such as 3600, 12h, 30d or 8w`);
  return Number(m[1]) * UNITS[m[2] || 's']!;
}

const resourcesOf = (f: FindingView) => f.resources.map((r) => `${r.type}:${r.id}`).join(' ');

const FINDING_COLUMNS: Column<FindingView>[] = [
  { header: 'ID', value: (f) => f.id },
  { header: 'SEVERITY', value: (f) => f.severity },
  { header: 'CHECK', value: (f) => f.checkId },
  { header: 'STATE', value: (f) => (f.suppressed ? `${f.state} (suppressed)` : f.state) },
  { header: 'LAST SEEN', value: (f) => f.lastSeenAt },
  { header: 'MESSAGE', value: (f) => f.message },
];

const SUPPRESSION_COLUMNS: Column<SuppressionView>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'CHECK', value: (s) => s.checkId },
  { header: 'RESOURCE', value: (s) => s.resource ?? 'every' },
  { header: 'EXPIRES', value: (s) => s.expiresAt },
  { header: 'REASON', value: (s) => s.reason },
];

const findingFields = (f: FindingView): [string, unknown][] => [
  ['id', f.id],
  ['check', f.checkId],
  ['severity', f.severity],
  ['state', f.state],
  ['message', f.message],
  ['resources', resourcesOf(f)],
  ['first seen', f.firstSeenAt],
  ['last seen', f.lastSeenAt],
  ['resolved', f.resolvedAt],
  [
    'suppressed',
    f.suppression === null
      ? 'no'
      : `until ${f.suppression.expiresAt}: ${f.suppression.reason} (${f.suppression.id})`,
  ],
];

const rank = (s: string) => FINDING_SEVERITIES.indexOf(s as (typeof FINDING_SEVERITIES)[number]);

/** `bulwark checks …`. */
export const checkCommands: Command[] = [
  {
    path: ['checks', 'run'],
    summary:
      'Run the fleet audit checks on the organization now and show what they found (needs checks:manage).',
    options: {
      'fail-on': {
        type: 'string',
        value: 'SEVERITY',
        help: 'exit 1 when an open, unsuppressed finding is this severe or worse (low, medium, high, critical): for CI',
      },
    },
    run: async (ctx) => {
      const failOn = ctx.choice('fail-on', FINDING_SEVERITIES);
      const client = ctx.client();
      const r = await client.checks.run();
      let failing = 0;
      if (failOn !== undefined)
        for await (const f of client.checks.all({ state: 'open' }))
          if (!f.suppressed && rank(f.severity) >= rank(failOn)) failing++;
      ctx.print(
        r,
        () =>
          formatFields([
            ['ran at', r.at],
            ['hub checks', r.hubChecks ? 'yes (operator organization)' : 'no'],
            ['open', r.open],
            ['new', r.new],
            ['resolved', r.resolved],
            [
              'by severity',
              FINDING_SEVERITIES.map((s) => `${s} ${r.bySeverity[s]}`)
                .reverse()
                .join(', '),
            ],
            ...(failOn === undefined
              ? []
              : [[`open ≥ ${failOn}, unsuppressed`, failing] as [string, unknown]]),
          ]) + 'See them with: bulwark checks list --state open\n',
      );
      return failing > 0 ? 1 : 0;
    },
  },
  {
    path: ['checks', 'list'],
    summary: "Show the organization's audit-check findings, newest first (suppressed ones marked).",
    options: {
      check: { type: 'string', value: 'ID', help: `only this check (${CHECK_IDS.join(', ')})` },
      severity: { type: 'string', value: 'S', help: 'only low, medium, high or critical' },
      state: { type: 'string', value: 'S', help: 'only open or resolved' },
      limit: { type: 'string', value: 'N', help: 'page size (1-500, default 50)' },
      cursor: { type: 'string', value: 'C', help: 'continue from a previous page' },
      all: { type: 'boolean', help: 'follow pages until every finding is listed' },
    },
    run: async (ctx) => {
      const query: FindingQuery = {};
      const check = ctx.choice('check', CHECK_IDS);
      if (check !== undefined) query.checkId = check;
      const severity = ctx.choice('severity', FINDING_SEVERITIES);
      if (severity !== undefined) query.severity = severity;
      const state = ctx.choice('state', ['open', 'resolved'] as const);
      if (state !== undefined) query.state = state;
      const limit = ctx.int('limit');
      if (limit !== undefined) query.limit = limit;
      const client = ctx.client();
      if (ctx.flag('all')) {
        const items: FindingView[] = [];
        for await (const f of client.checks.all(query)) items.push(f);
        ctx.print(listJson(items), () => formatTable(items, FINDING_COLUMNS));
        return;
      }
      const cursor = ctx.str('cursor');
      const page = await client.checks.list(cursor === undefined ? query : { ...query, cursor });
      ctx.print(listJson(page.items, page.nextCursor), () => {
        const more =
          page.nextCursor === null ? '' : `(more: --cursor ${page.nextCursor}, or --all)\n`;
        return formatTable(page.items, FINDING_COLUMNS) + more;
      });
    },
  },
  {
    path: ['checks', 'show'],
    args: ['ID'],
    summary: 'Show one finding: its message, the resources it names, when seen, its suppression.',
    run: async (ctx) => {
      const f = await ctx.client().checks.get(ctx.args[0] ?? '');
      ctx.print(f, () => formatFields(findingFields(f)));
    },
  },
  {
    path: ['checks', 'suppress'],
    args: ['CHECK'],
    summary:
      'Suppress the findings of a check (of one resource with --resource) until an expiry, with a reason; they stay listed, marked suppressed.',
    options: {
      resource: {
        type: 'string',
        value: 'TYPE:ID',
        help: 'only findings naming this resource, e.g. device:<id> or api_key:<id>',
      },
      reason: { type: 'string', value: 'TEXT', help: 'why (required; kept in the audit log)' },
      for: {
        type: 'string',
        value: 'DURATION',
        help: 'how long, e.g. 30d, 12h (required; a year at most)',
      },
    },
    run: async (ctx) => {
      const checkId = ctx.args[0] ?? '';
      if (!(CHECK_IDS as readonly string[]).includes(checkId))
        throw ctx.usage(`unknown check ${checkId}: one of ${CHECK_IDS.join(', ')}`);
      const resource = ctx.str('resource');
      const s = await ctx.client().checks.suppress({
        checkId: checkId as (typeof CHECK_IDS)[number],
        reason: ctx.need('reason'),
        ttlSeconds: seconds(ctx, 'for', ctx.need('for')),
        ...(resource === undefined ? {} : { resource }),
      });
      ctx.print(s, () => formatTable([s], SUPPRESSION_COLUMNS));
    },
  },
  {
    path: ['checks', 'unsuppress'],
    args: ['ID'],
    summary: 'End a suppression now (its findings show as plain findings again).',
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().checks.unsuppress(id);
      ctx.print({ id, deleted: true }, () => `suppression ${id} ended\n`);
    },
  },
  {
    path: ['checks', 'suppressions'],
    summary: "Show the organization's suppressions that have not expired.",
    run: async (ctx) => {
      const items = await ctx.client().checks.suppressions();
      ctx.print(listJson(items), () => formatTable(items, SUPPRESSION_COLUMNS));
    },
  },
];
