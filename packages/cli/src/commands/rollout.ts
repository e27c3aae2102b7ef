import type { CreateRolloutRequest, OperationOutput } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { formatTable, listJson, type Column } from '../output.js';
import { idArg } from './management-args.js';
import {
  ArgError,
  MAX_CONCURRENT,
  parsePhase,
  parseRate,
  parseThreshold,
  parseWindow,
  renderRollout,
} from './rollout-args.js';

type RolloutView = OperationOutput<'getRollout'>;

const ROLLOUT_COLUMNS: Column<RolloutView>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.name },
  { header: 'ARTIFACT', value: (r) => r.artifactId },
  { header: 'STATE', value: (r) => r.state },
  { header: 'PAUSED FOR', value: (r) => r.pauseReason ?? '' },
  { header: 'CREATED', value: (r) => r.createdAt },
];

/** A flag value parsed by `parse`, a usage error when it does not parse. */
function parsed<T>(ctx: Context, text: string | undefined, parse: (t: string) => T): T | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof ArgError) throw ctx.usage(err.message);
    throw err;
  }
}

function createRequest(ctx: Context): CreateRolloutRequest {
  const target: CreateRolloutRequest['target'] = {};
  const type = ctx.str('type');
  const location = ctx.str('location');
  if (type !== undefined) target.type = type;
  if (ctx.strs('tag').length > 0) target.tags = ctx.strs('tag');
  if (location !== undefined)
    target.location = idArg(ctx, '--location', location, 'bulwark location list');
  if (ctx.strs('device').length > 0)
    target.deviceIds = ctx
      .strs('device')
      .map((d) => idArg(ctx, '--device', d, 'bulwark device list'));
  if (Object.keys(target).length === 0)
    throw ctx.usage('give a target: --type, --tag, --location or --device');
  const phases = ctx.strs('phase').map((p) => parsed(ctx, p, parsePhase)!);
  const name = ctx.str('name');
  const limits = limitFlags(ctx, 5);
  const artifact = ctx.args[0];
  if (artifact === undefined) throw ctx.usage('missing ARTIFACT');
  return {
    artifactId: idArg(ctx, 'ARTIFACT', artifact, 'bulwark firmware list'),
    target,
    ...(name !== undefined ? { name } : {}),
    ...(phases.length > 0 ? { phases } : {}),
    ...limits,
  };
}

/** The limits a rollout and an auto-upgrade policy share, from their flags (absent: left out). */
export function limitFlags(
  ctx: Context,
  defaultMin: number,
): Pick<CreateRolloutRequest, 'maxConcurrent' | 'ratePerMinute' | 'failureThreshold' | 'window'> {
  const rate = parsed(ctx, ctx.str('rate'), parseRate);
  const threshold = parsed(ctx, ctx.str('failure-threshold'), (t) => parseThreshold(t, defaultMin));
  const window = parsed(ctx, ctx.str('window'), parseWindow);
  const max = ctx.int('max-concurrent');
  if (max !== undefined && (max < 1 || max > MAX_CONCURRENT))
    throw ctx.usage(`--max-concurrent must be from 1 to ${MAX_CONCURRENT}, not ${max}`);
  return {
    ...(max !== undefined ? { maxConcurrent: max } : {}),
    ...(rate !== undefined ? { ratePerMinute: rate } : {}),
    ...(threshold !== undefined ? { failureThreshold: threshold } : {}),
    ...(window !== undefined ? { window } : {}),
  };
}

/** The flags of those limits, with the defaults named in their help. */
export const limitOptions = (defaults: { maxConcurrent: number; threshold: string }) =>
  ({
    'max-concurrent': {
      type: 'string',
      value: 'N',
      help: `jobs in flight at most (default ${defaults.maxConcurrent})`,
    },
    rate: { type: 'string', value: 'N/min', help: 'jobs started per minute at most' },
    'failure-threshold': {
      type: 'string',
      value: 'P%[:MIN]',
      help: `pause at P% failures once MIN devices finished (default ${defaults.threshold})`,
    },
    window: {
      type: 'string',
      value: "'Mon-Fri 01:00-05:00 UTC'",
      help: 'start jobs only in this window (zone: UTC or IANA)',
    },
  }) as const;

const show = (ctx: Context, r: RolloutView) =>
  ctx.print(r, () => renderRollout(r, process.stdout.isTTY === true).join('\n') + '\n');

/** `rollout status --watch`: redraws in place on a terminal, prints changed states otherwise. */
async function watch(ctx: Context, id: string): Promise<number> {
  const tty = process.stdout.isTTY === true && !ctx.json;
  const intervalMs = (ctx.int('interval') ?? 2) * 1000;
  const deadline = Date.now() + (ctx.int('timeout') ?? 3600) * 1000;
  let drawn = 0;
  let last = '';
  for (;;) {
    const r = await ctx.client().rollouts.get(id);
    const text = ctx.json ? JSON.stringify(r) : renderRollout(r, tty).join('\n');
    if (tty) {
      ctx.io.out((drawn > 0 ? `\x1b[${drawn}A\x1b[J` : '') + text + '\n');
      drawn = text.split('\n').length;
    } else if (text !== last) {
      ctx.io.out(text + '\n');
    }
    last = text;
    if (r.state === 'completed' || r.state === 'canceled') return 0;
    // Paused (by someone, or automatically at the failure threshold or an expired artifact), it
    // moves no further until a person resumes it: watching on would never end.
    if (r.state === 'paused') {
      ctx.io.err(
        `rollout ${id} is paused${r.pauseReason === null ? '' : `: ${r.pauseReason}`}; ` +
          `\`bulwark rollout resume ${id}\` continues it\n`,
      );
      return 1;
    }
    if (Date.now() + intervalMs > deadline) {
      ctx.io.err(
        `rollout ${id} is still ${r.state}; stopped watching after ${ctx.int('timeout') ?? 3600} s\n`,
      );
      return 1;
    }
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}

const stateCommand = (verb: 'pause' | 'resume' | 'cancel', summary: string): Command => ({
  path: ['rollout', verb],
  args: ['ID'],
  ids: { ID: 'rollout' },
  summary,
  ...(verb === 'pause'
    ? { options: { reason: { type: 'string', value: 'TEXT', help: 'why (shown in status)' } } }
    : {}),
  run: async (ctx) => {
    const id = ctx.args[0] ?? '';
    const client = ctx.client();
    const r =
      verb === 'pause'
        ? await client.rollouts.pause(id, ctx.str('reason'))
        : verb === 'resume'
          ? await client.rollouts.resume(id)
          : await client.rollouts.cancel(id);
    show(ctx, r);
  },
});

/** `bulwark rollout …` (decision 0011); `firmware current …` is in firmware-current.ts. */
export const rolloutCommands: Command[] = [
  {
    path: ['rollout', 'create'],
    args: ['ARTIFACT'],
    summary:
      'Roll an artifact out to a target in phases (e.g. --type gw --phase 10% --phase 100%).',
    options: {
      type: { type: 'string', value: 'TYPE', help: 'devices of this type' },
      tag: {
        type: 'string',
        multiple: true,
        value: 'TAG',
        help: 'devices with this tag (repeatable)',
      },
      location: { type: 'string', value: 'ID', help: 'devices in this location or below' },
      device: {
        type: 'string',
        multiple: true,
        value: 'ID',
        help: 'this device (repeatable: a group)',
      },
      phase: {
        type: 'string',
        multiple: true,
        value: '[NAME=]SIZE[,gate=P%]',
        help: 'cumulative phase, 10% or a count; the last must be 100% (repeatable)',
      },
      ...limitOptions({ maxConcurrent: 10, threshold: '20%:5' }),
      name: { type: 'string', value: 'TEXT', help: 'a name for the rollout' },
    },
    run: async (ctx) => show(ctx, await ctx.client().rollouts.create(createRequest(ctx))),
  },
  {
    path: ['rollout', 'status'],
    args: ['ID'],
    ids: { ID: 'rollout' },
    summary: 'Progress of a rollout per phase and overall (--watch to follow it).',
    options: {
      watch: {
        type: 'boolean',
        help: 'refresh until it completes or is canceled (exit 0), or pauses (exit 1)',
      },
      interval: { type: 'string', value: 'S', help: 'seconds between refreshes (default 2)' },
      timeout: { type: 'string', value: 'S', help: 'stop watching after S seconds (default 3600)' },
    },
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      if (ctx.flag('watch')) return watch(ctx, id);
      show(ctx, await ctx.client().rollouts.get(id));
    },
  },
  {
    path: ['rollout', 'list'],
    summary: "List the organization's rollouts, newest first.",
    options: {
      state: { type: 'string', value: 'STATE', help: 'running, paused, canceled or completed' },
      limit: { type: 'string', value: 'N', help: 'page size' },
      cursor: { type: 'string', value: 'C', help: 'continue from a previous page' },
    },
    run: async (ctx) => {
      const state = ctx.choice('state', ['running', 'paused', 'canceled', 'completed'] as const);
      const page = await ctx.client().rollouts.list({
        ...(state !== undefined ? { state } : {}),
        ...(ctx.int('limit') !== undefined ? { limit: ctx.int('limit') } : {}),
        ...(ctx.str('cursor') !== undefined ? { cursor: ctx.str('cursor') } : {}),
      });
      ctx.print(listJson(page.items, page.nextCursor), () => {
        const more = page.nextCursor === null ? '' : `(more: --cursor ${page.nextCursor})\n`;
        return formatTable(page.items, ROLLOUT_COLUMNS) + more;
      });
    },
  },
  stateCommand('pause', 'Pause a rollout: jobs under way go on, no new ones start.'),
  stateCommand('resume', 'Resume a paused rollout (failures so far stop counting).'),
  stateCommand('cancel', 'Cancel a rollout and its jobs that have not started installing.'),
];
