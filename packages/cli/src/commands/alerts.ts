import type { AlertDetailView, AlertView } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { formatFields, type Column } from '../output.js';
import { PAGE_OPTIONS, printList } from './management-args.js';

const STATES = ['open', 'acknowledged', 'resolved', 'active'] as const;
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;

const COLUMNS: Column<AlertView>[] = [
  { header: 'ID', value: (a) => a.id },
  { header: 'KIND', value: (a) => a.kind },
  { header: 'SEVERITY', value: (a) => a.severity },
  { header: 'STATE', value: (a) => a.state },
  { header: 'DEVICE', value: (a) => a.deviceId },
  { header: 'COUNT', value: (a) => a.occurrences },
  { header: 'OPENED', value: (a) => a.openedAt },
  { header: 'RESOLVED', value: (a) => a.resolvedAt },
];

/** One alert as label/value lines, its evidence and comments below. */
export function formatAlert(a: AlertDetailView | AlertView): string {
  const lines = formatFields([
    ['id', a.id],
    ['title', a.title],
    ['kind', a.kind],
    ['severity', a.severity],
    ['state', a.state],
    ['device', a.deviceId],
    ['occurrences', a.occurrences],
    ['opened', a.openedAt],
    ['last seen', a.lastSeenAt],
    [
      'acknowledged',
      a.acknowledgedAt === null ? null : `${a.acknowledgedAt} by ${a.acknowledgedBy}`,
    ],
    ['resolved', a.resolvedAt === null ? null : `${a.resolvedAt} by ${a.resolvedBy}`],
    ['assignee', a.assignee],
    [
      'muted until',
      a.mutedUntil === null ? null : `${a.mutedUntil}${a.muteReason ? ` (${a.muteReason})` : ''}`,
    ],
    ['dedup key', a.dedupKey],
    ['group', a.groupKey],
  ]);
  const evidence =
    Object.keys(a.evidence).length === 0
      ? ''
      : `\nevidence:\n${JSON.stringify(a.evidence, null, 2)}\n`;
  const comments =
    'comments' in a && a.comments.length > 0
      ? `\ncomments:\n${a.comments.map((c) => `  ${c.at}  ${c.author}: ${c.body}\n`).join('')}`
      : '';
  return lines + evidence + comments;
}

/** Parses `30m`, `2h`, `1d` (or plain minutes) into minutes. */
export function parseMinutes(ctx: Context, text: string): number {
  const m = /^(\d+)([mhd]?)$/.exec(text);
  if (!m) throw ctx.usage(`--for takes a duration like 30m, 2h or 1d, not ${JSON.stringify(text)}`);
  const n = Number(m[1]) * (m[2] === 'h' ? 60 : m[2] === 'd' ? 1440 : 1);
  if (n < 1 || n > 43_200) throw ctx.usage('--for is between 1 minute and 30 days');
  return n;
}

/** A command on one alert that prints the alert after the change. */
const change = (
  verb: string,
  summary: string,
  act: (ctx: Context, id: string) => Promise<AlertView>,
  options: Command['options'] = {},
): Command => ({
  path: ['alerts', verb],
  args: ['ID'],
  summary,
  options,
  run: async (ctx) => {
    const a = await act(ctx, ctx.args[0] ?? '');
    ctx.print(a, () => formatAlert(a));
  },
});

/** `bulwark alerts list|show|ack|resolve|assign|comment|mute|groups`. */
export const alertCommands: Command[] = [
  {
    path: ['alerts', 'list'],
    summary: "List the organization's alerts, newest first.",
    options: {
      state: {
        type: 'string',
        value: 'S',
        help: `only alerts in this state (${STATES.join(', ')})`,
      },
      device: { type: 'string', value: 'ID', help: 'only alerts about this device' },
      kind: { type: 'string', value: 'K', help: 'only alerts of this kind' },
      severity: { type: 'string', value: 'S', help: SEVERITIES.join(', ') },
      group: { type: 'string', value: 'G', help: 'only alerts of this group key' },
      ...PAGE_OPTIONS,
    },
    run: async (ctx) => {
      const query = {
        state: ctx.choice('state', STATES),
        deviceId: ctx.str('device'),
        kind: ctx.str('kind'),
        severity: ctx.choice('severity', SEVERITIES),
        groupKey: ctx.str('group'),
        limit: ctx.int('limit'),
      };
      const client = ctx.client();
      await printList(
        ctx,
        COLUMNS,
        (cursor) => client.alerts.list({ ...query, cursor }),
        () => client.alerts.all(query),
      );
    },
  },
  {
    path: ['alerts', 'groups'],
    summary: 'Show active alerts grouped by their group key.',
    run: async (ctx) => {
      const g = await ctx.client().alerts.groups();
      ctx.print(g, () =>
        g.items.length === 0
          ? 'no active alerts\n'
          : g.items
              .map((x) => `${x.groupKey}  ${x.severity}  ${x.count} active  last ${x.lastSeenAt}\n`)
              .join(''),
      );
    },
  },
  {
    path: ['alerts', 'show'],
    args: ['ID'],
    summary: 'Show one alert with its evidence and comments.',
    run: async (ctx) => {
      const a = await ctx.client().alerts.get(ctx.args[0] ?? '');
      ctx.print(a, () => formatAlert(a));
    },
  },
  change('ack', 'Acknowledge an open alert (you own it now; escalation stops).', (ctx, id) =>
    ctx.client().alerts.acknowledge(id),
  ),
  change('resolve', 'Resolve an open or acknowledged alert.', (ctx, id) =>
    ctx.client().alerts.resolve(id),
  ),
  change(
    'assign',
    'Assign an active alert to a member of the organization (--none: nobody).',
    (ctx, id) => {
      const user = ctx.str('user');
      if ((user === undefined) === !ctx.flag('none')) throw ctx.usage('give --user ID or --none');
      return ctx.client().alerts.assign(id, user ?? null);
    },
    {
      user: { type: 'string', value: 'ID', help: "the member's user id" },
      none: { type: 'boolean', help: 'unassign' },
    },
  ),
  change(
    'mute',
    'Hold back notifications and escalation of an active alert for a while (--off: unmute).',
    (ctx, id) => {
      const d = ctx.str('for');
      if ((d === undefined) === !ctx.flag('off')) throw ctx.usage('give --for DURATION or --off');
      return ctx
        .client()
        .alerts.mute(id, d === undefined ? null : parseMinutes(ctx, d), ctx.str('reason'));
    },
    {
      for: { type: 'string', value: 'DURATION', help: 'how long, e.g. 30m, 2h, 1d (at most 30d)' },
      reason: { type: 'string', value: 'TEXT', help: 'why (shown with the alert)' },
      off: { type: 'boolean', help: 'unmute' },
    },
  ),
  {
    path: ['alerts', 'comment'],
    args: ['ID', 'TEXT'],
    summary: 'Add a comment to an alert.',
    run: async (ctx) => {
      const c = await ctx.client().alerts.comment(ctx.args[0] ?? '', ctx.args[1] ?? '');
      ctx.print(c, () => `comment ${c.id} added\n`);
    },
  },
];
