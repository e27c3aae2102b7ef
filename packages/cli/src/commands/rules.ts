/**
 * `bulwark rules list|show|create|update|delete|enable|disable|test` (decision 0035): rules on
 * telemetry — a condition on a SenML record, held for a duration, that raises an alert, sends a
 * command or changes the desired twin of the device that sent it.
 */
import type {
  CreateRuleRequest,
  RuleView,
  TestRuleResult,
  UpdateRuleRequest,
} from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields, formatTable, listJson, type Column } from '../output.js';
import { readJson } from './read-json.js';

/** The condition in words: `> 80`, `in [10, 20]`, `= "open"`. */
function conditionText(r: RuleView): string {
  const c = r.condition;
  const lit = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const ops: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', ne: '!=' };
  if (c.op === 'between') return `in [${lit(c.min)}, ${lit(c.max)}]`;
  if (c.op === 'outside') return `outside [${lit(c.min)}, ${lit(c.max)}]`;
  return `${ops[c.op] ?? c.op} ${lit(c.value)}`;
}

const scopeText = (r: RuleView): string => {
  const parts = Object.entries(r.scope).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? 'every device' : parts.join(' ');
};

const actionsText = (r: RuleView): string =>
  r.actions
    .map((a) =>
      a.type === 'command'
        ? `command ${a.name}`
        : a.type === 'twin'
          ? `twin ${a.path}=${JSON.stringify(a.value)}`
          : a.type,
    )
    .join(', ');

const COLUMNS: Column<RuleView>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.name },
  { header: 'ENABLED', value: (r) => (r.enabled ? 'yes' : 'no') },
  { header: 'WHEN', value: (r) => `${r.record} ${conditionText(r)} for ${r.forSeconds}s` },
  { header: 'ACTIONS', value: actionsText },
];

const fields = (r: RuleView): [string, unknown][] => [
  ['id', r.id],
  ['name', r.name],
  ['description', r.description],
  ['enabled', r.enabled ? 'yes' : 'no'],
  ['record', r.record],
  ['condition', conditionText(r)],
  ['for', `${r.forSeconds} s`],
  ['scope', scopeText(r)],
  ['actions', actionsText(r)],
  ['created', `${r.createdAt}${r.createdBy === null ? '' : ` by ${r.createdBy}`}`],
  ['updated', r.updatedAt],
];

/** A JSON object read from --file. */
function objectFile(ctx: Context): Record<string, unknown> {
  const v = readJson(ctx.need('file'));
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new CliError(`${ctx.need('file')} must hold one JSON object (the rule)`);
  return v as Record<string, unknown>;
}

const show = (ctx: Context, r: RuleView) => ctx.print(r, () => formatFields(fields(r)));

/** `bulwark rules …`. */
export const ruleCommands: Command[] = [
  {
    path: ['rules', 'list'],
    summary: "Show the organization's rules on telemetry.",
    options: {
      limit: { type: 'string', value: 'N', help: 'page size (1-500, default 50)' },
      cursor: { type: 'string', value: 'C', help: 'continue from a previous page' },
      all: { type: 'boolean', help: 'follow pages until every rule is listed' },
    },
    run: async (ctx) => {
      const client = ctx.client();
      const limit = ctx.int('limit');
      if (ctx.flag('all')) {
        const items: RuleView[] = [];
        for await (const r of client.rules.all(limit === undefined ? {} : { limit })) items.push(r);
        ctx.print(listJson(items), () => formatTable(items, COLUMNS));
        return;
      }
      const cursor = ctx.str('cursor');
      const page = await client.rules.list({
        ...(limit === undefined ? {} : { limit }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      ctx.print(listJson(page.items, page.nextCursor), () => {
        const more =
          page.nextCursor === null ? '' : `(more: --cursor ${page.nextCursor}, or --all)\n`;
        return formatTable(page.items, COLUMNS) + more;
      });
    },
  },
  {
    path: ['rules', 'show'],
    args: ['ID'],
    summary: 'Show one rule: its condition, duration, scope and actions.',
    run: async (ctx) => show(ctx, await ctx.client().rules.get(ctx.args[0] ?? '')),
  },
  {
    path: ['rules', 'create'],
    summary:
      'Create a rule from a JSON file: {"name","record","condition":{"op","value"|"min","max"},"forSeconds","scope","actions":[…]} (needs devices:manage).',
    options: {
      file: { type: 'string', value: 'FILE', help: 'the rule as JSON (required)' },
    },
    run: async (ctx) => {
      const body = objectFile(ctx) as unknown as CreateRuleRequest;
      show(ctx, await ctx.client().rules.create(body));
    },
  },
  {
    path: ['rules', 'update'],
    args: ['ID'],
    summary:
      'Change fields of a rule from a JSON file (the rule as changed is checked as a whole).',
    options: {
      file: { type: 'string', value: 'FILE', help: 'the fields to change, as JSON (required)' },
    },
    run: async (ctx) => {
      const body = objectFile(ctx) as unknown as UpdateRuleRequest;
      show(ctx, await ctx.client().rules.update(ctx.args[0] ?? '', body));
    },
  },
  {
    path: ['rules', 'delete'],
    args: ['ID'],
    summary: 'Delete a rule.',
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().rules.delete(id);
      ctx.print({ id, deleted: true }, () => `rule ${id} deleted\n`);
    },
  },
  {
    path: ['rules', 'enable'],
    args: ['ID'],
    summary: 'Start evaluating a rule.',
    run: async (ctx) => show(ctx, await ctx.client().rules.enable(ctx.args[0] ?? '')),
  },
  {
    path: ['rules', 'disable'],
    args: ['ID'],
    summary: 'Stop evaluating a rule (it is kept).',
    run: async (ctx) => show(ctx, await ctx.client().rules.disable(ctx.args[0] ?? '')),
  },
  {
    path: ['rules', 'test'],
    args: ['ID?'],
    summary:
      'Evaluate a stored rule (ID) or a draft (--rule FILE) against a SenML JSON pack (--senml FILE), without side effects; exit 1 when it would not fire.',
    options: {
      senml: { type: 'string', value: 'FILE', help: 'a SenML JSON pack (required)' },
      rule: { type: 'string', value: 'FILE', help: 'a draft rule as JSON, instead of an ID' },
    },
    run: async (ctx) => {
      const pack = readJson(ctx.need('senml'));
      if (!Array.isArray(pack)) throw new CliError(`${ctx.need('senml')} must hold a SenML array`);
      const draft = ctx.str('rule');
      const id = ctx.args[0];
      if ((draft === undefined) === (id === undefined || id === ''))
        throw ctx.usage('give a rule ID or --rule FILE (one of them)');
      const r: TestRuleResult = await ctx.client().rules.test({
        senml: pack as Array<Record<string, unknown>>,
        ...(draft === undefined
          ? { ruleId: id ?? '' }
          : { rule: readJson(draft) as CreateRuleRequest }),
      });
      ctx.print(r, () => {
        const rows = formatTable(r.records, [
          { header: 'T', value: (x) => String(x.t) },
          { header: 'VALUE', value: (x) => JSON.stringify(x.value) },
          { header: 'HOLDS', value: (x) => (x.holds ? 'yes' : 'no') },
          { header: 'FIRES', value: (x) => (x.fires ? 'FIRES' : '') },
        ]);
        return `${rows}${r.fired ? 'the rule would fire' : 'the rule would not fire'} (${r.records.length} matching records)\n`;
      });
      return r.fired ? 0 : 1;
    },
  },
];
