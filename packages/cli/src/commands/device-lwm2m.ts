import type { BodyOf } from '@bulwark/sdk';
import type { Command, Context } from '../command.js';
import type { OptionSpecs } from '../command.js';
import { showCommand, waitAndShow } from './device-command.js';
import { parseDuration, parseValue, parsed } from './management-args.js';

/**
 * `bulwark device lwm2m read|discover|write|execute|create|delete|attributes` (decision 0043,
 * 2026-12-07): each queues a command on the LwM2M device (held until a device in queue mode
 * wakes); `--wait` waits for its result and exits 1 unless it succeeded.
 */
const COMMON: OptionSpecs = {
  wait: { type: 'boolean', help: 'wait until the device answers; exit 1 unless it succeeded' },
  timeout: {
    type: 'string',
    value: 'DURATION',
    help: 'deadline from now, e.g. 90s, 10m, 2h (default 1h)',
  },
};

type Op = BodyOf<'lwm2mOperate'>;

function timeoutOf(ctx: Context): { timeoutSeconds?: number } {
  const t = ctx.str('timeout');
  return t === undefined ? {} : { timeoutSeconds: parsed(ctx, () => parseDuration(t)) };
}

async function finish(ctx: Context, sent: Parameters<typeof showCommand>[1]) {
  if (ctx.flag('wait')) return waitAndShow(ctx, sent);
  showCommand(ctx, sent);
}

const read = (discover: boolean): Command => ({
  path: ['device', 'lwm2m', discover ? 'discover' : 'read'],
  args: ['ID', 'PATH'],
  ids: { ID: 'device' },
  summary: discover
    ? 'Discover an LwM2M path (its resources and attributes, link format).'
    : 'Read an LwM2M path (/object[/instance[/resource]]); the result holds the values.',
  options: COMMON,
  run: async (ctx) => {
    const sent = await ctx.client().devices.lwm2mRead(ctx.args[0] ?? '', {
      path: ctx.args[1] ?? '',
      ...(discover ? { discover: true } : {}),
      ...timeoutOf(ctx),
    });
    return finish(ctx, sent);
  },
});

const operate = (
  name: Op['operation'],
  args: string[],
  summary: string,
  body: (ctx: Context) => Omit<Op, 'operation' | 'path'>,
  options: OptionSpecs = {},
): Command => ({
  path: ['device', 'lwm2m', name],
  args: ['ID', 'PATH', ...args],
  ids: { ID: 'device' },
  summary,
  options: { ...COMMON, ...options },
  run: async (ctx) => {
    const sent = await ctx.client().devices.lwm2mOperate(ctx.args[0] ?? '', {
      operation: name,
      path: ctx.args[1] ?? '',
      ...body(ctx),
      ...timeoutOf(ctx),
    });
    return finish(ctx, sent);
  },
});

const scalar = (text: string): string | number | boolean => {
  const v = parseValue(text);
  return typeof v === 'number' || typeof v === 'boolean' ? v : text;
};

const ATTRIBUTES = ['pmin', 'pmax', 'gt', 'lt', 'st'] as const;

export const deviceLwm2mCommands: Command[] = [
  read(false),
  read(true),
  operate('write', ['VALUE'], 'Write one LwM2M resource (/object/instance/resource).', (ctx) => ({
    value: scalar(ctx.args[2] ?? ''),
  })),
  operate(
    'execute',
    [],
    'Execute an LwM2M resource (e.g. /3/0/4 reboots).',
    (ctx) => {
      const a = ctx.str('args');
      return a === undefined ? {} : { args: a };
    },
    { args: { type: 'string', value: 'TEXT', help: "the Execute's arguments" } },
  ),
  operate(
    'create',
    [],
    'Create an instance of an LwM2M object (PATH is /object; never /0 or /1).',
    (ctx) => {
      const values: Record<string, string | number | boolean> = {};
      for (const p of ctx.strs('value')) {
        const eq = p.indexOf('=');
        if (eq <= 0) throw ctx.usage(`--value '${p}' is not RESOURCE=VALUE`);
        values[p.slice(0, eq)] = scalar(p.slice(eq + 1));
      }
      const instance = ctx.int('instance');
      return { values, ...(instance === undefined ? {} : { instance }) };
    },
    {
      instance: {
        type: 'string',
        value: 'N',
        help: 'the new instance id (default: the device picks)',
      },
      value: {
        type: 'string',
        multiple: true,
        value: 'RESOURCE=VALUE',
        help: 'a resource of the new instance (repeatable)',
      },
    },
  ),
  operate(
    'delete',
    [],
    'Delete an LwM2M object instance (PATH is /object/instance; never /0 or /1).',
    () => ({}),
  ),
  operate(
    'attributes',
    [],
    'Write-Attributes: notification periods and thresholds of a path ("none" removes one).',
    (ctx) => {
      const attributes: NonNullable<Op['attributes']> = {};
      for (const k of ATTRIBUTES) {
        const v = ctx.str(k);
        if (v === undefined) continue;
        const n = Number(v);
        if (v !== 'none' && (v.trim() === '' || !Number.isFinite(n)))
          throw ctx.usage(`--${k} takes a number or "none"`);
        attributes[k] = v === 'none' ? null : n;
      }
      if (Object.keys(attributes).length === 0)
        throw ctx.usage('give at least one of --pmin, --pmax, --gt, --lt, --st');
      return { attributes };
    },
    Object.fromEntries(
      ATTRIBUTES.map((k) => [
        k,
        { type: 'string' as const, value: 'N', help: `the ${k} attribute` },
      ]),
    ),
  ),
];
