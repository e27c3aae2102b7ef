/**
 * `bulwark firmware current …`: the auto-upgrade policy of a device type (decision 0011) — the
 * artifact devices of the type are upgraded to, within a rollout's limits, and its state.
 */
import type { OperationOutput } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { formatTable, listJson, type Column } from '../output.js';
import { idArg } from './management-args.js';
import { limitFlags, limitOptions } from './rollout.js';

type PolicyView = OperationOutput<'setFirmwarePolicy'>;

/** The defaults of an auto-upgrade policy (core's AUTO_UPGRADE_DEFAULTS), as the help states them. */
const DEFAULT_MAX_CONCURRENT = 2;
const DEFAULT_MIN_DEVICES = 2;

const next = (p: PolicyView) =>
  p.state === 'paused'
    ? `paused (${p.pauseReason ?? ''})`
    : (p.progress.nextEligibleAt ??
      (p.progress.inFlight >= p.maxConcurrent ? 'when a job ends' : 'now'));

const COLUMNS: Column<PolicyView>[] = [
  { header: 'TYPE', value: (p) => p.type },
  { header: 'VERSION', value: (p) => p.version },
  { header: 'STATE', value: (p) => p.state },
  { header: 'IN FLIGHT', value: (p) => `${p.progress.inFlight}/${p.maxConcurrent}` },
  { header: 'SUCCEEDED', value: (p) => String(p.progress.succeeded) },
  { header: 'FAILED', value: (p) => String(p.progress.failed) },
  { header: 'NEXT', value: next },
  { header: 'ARTIFACT', value: (p) => p.artifactId },
];

/** The lines of `firmware current status`. */
export function renderPolicy(p: PolicyView): string {
  const w = p.window;
  const window = w
    ? `${w.days ? `${w.days.join(',')} ` : ''}${w.start}-${w.end} ${w.timezone}`
    : 'any time';
  const f = p.failureThreshold;
  return [
    `${p.type}: current is ${p.version} (${p.artifactId}), set ${p.setAt} by ${p.setBy}`,
    `state: ${p.state}${p.pauseReason ? ` (${p.pauseReason})` : ''}`,
    `limits: ${p.maxConcurrent} in flight, ${p.ratePerMinute === null ? 'no rate limit' : `${p.ratePerMinute}/min`}, ` +
      `window ${window}${p.progress.windowOpen ? ' (open)' : ' (closed)'}, ` +
      `pause at ${f.percent}% failures once ${f.minDevices} finished`,
    `jobs since set: in flight ${p.progress.inFlight}  succeeded ${p.progress.succeeded}  ` +
      `failed ${p.progress.failed}  canceled ${p.progress.canceled}`,
    `next eligible: ${next(p)}`,
    '',
  ].join('\n');
}

const show = (ctx: Context, p: PolicyView) => ctx.print(p, () => renderPolicy(p));

/** `bulwark firmware current set|status|resume|clear|list`. */
export const firmwareCurrentCommands: Command[] = [
  {
    path: ['firmware', 'current', 'set'],
    args: ['TYPE', 'ARTIFACT'],
    summary:
      'Mark an artifact current for a device type: devices on older versions get it, ' +
      `${DEFAULT_MAX_CONCURRENT} at a time by default, pausing when too many fail.`,
    options: limitOptions({
      maxConcurrent: DEFAULT_MAX_CONCURRENT,
      threshold: `20%:${DEFAULT_MIN_DEVICES}`,
    }),
    run: async (ctx) => {
      const [type, artifact] = ctx.args;
      if (type === undefined || artifact === undefined) throw ctx.usage('missing TYPE ARTIFACT');
      const limits = limitFlags(ctx, DEFAULT_MIN_DEVICES);
      const p = await ctx
        .client()
        .firmware.policies.set(
          type,
          idArg(ctx, 'ARTIFACT', artifact, 'bulwark firmware list'),
          limits,
        );
      show(ctx, p);
    },
  },
  {
    path: ['firmware', 'current', 'status'],
    args: ['TYPE'],
    summary: 'The auto-upgrade policy of a device type: limits, state, jobs, next eligible time.',
    run: async (ctx) => show(ctx, await ctx.client().firmware.policies.get(ctx.args[0] ?? '')),
  },
  {
    path: ['firmware', 'current', 'resume'],
    args: ['TYPE'],
    summary: 'Resume a paused auto-upgrade policy (failures so far stop counting).',
    run: async (ctx) => show(ctx, await ctx.client().firmware.policies.resume(ctx.args[0] ?? '')),
  },
  {
    path: ['firmware', 'current', 'clear'],
    args: ['TYPE'],
    summary: 'Stop auto-upgrading a device type.',
    run: async (ctx) => {
      const type = ctx.args[0] ?? '';
      await ctx.client().firmware.policies.clear(type);
      ctx.print({ cleared: type }, () => `${type}: no current artifact\n`);
    },
  },
  {
    path: ['firmware', 'current', 'list'],
    summary: 'List the auto-upgrade policy of each device type with its state and jobs.',
    run: async (ctx) => {
      const list = await ctx.client().firmware.policies.list();
      ctx.print(listJson(list.items), () => formatTable(list.items, COLUMNS));
    },
  },
];
