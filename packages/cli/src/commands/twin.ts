import type { TwinView } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { formatFields, formatTable, shortTime } from '../output.js';
import {
  SELECTOR_OPTIONS,
  buildMergePatch,
  deviceOrSelector,
  parsed,
  type JsonObject,
} from './management-args.js';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A JSON object as `dotted.path → value` pairs: objects are walked, everything else (arrays,
 * scalars, an empty object) is a leaf, so each line is something `twin set PATH=VALUE` can set.
 */
export function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()) {
  if (isPlainObject(value) && (Object.keys(value).length > 0 || prefix === '')) {
    for (const [k, v] of Object.entries(value))
      flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (prefix !== '') {
    out.set(prefix, value);
  }
  return out;
}

// Twin values print as JSON (strings quoted), which is also how `twin set` reads them back.
const json = (v: unknown): string => (v === undefined ? '-' : (JSON.stringify(v) ?? '-'));

/** A twin, readable: versions and sync state, then one row per setting, desired beside reported. */
export function formatTwin(t: TwinView): string {
  const r = t.reported;
  const head = formatFields([
    ['device', t.deviceId],
    ['in sync', t.inSync ? 'yes' : 'no'],
    [
      'desired',
      `version ${t.desired.version}` +
        (t.desired.updatedAt === null
          ? ' (never set)'
          : `, changed ${shortTime(t.desired.updatedAt)}`),
    ],
    [
      'reported',
      r === null
        ? 'never (the device has not reported yet)'
        : `version ${r.version} answering desired ${r.desiredVersion}, at ${shortTime(r.updatedAt)}`,
    ],
  ]);
  const desired = flatten(t.desired.state);
  const reported = flatten(r?.state ?? {});
  const delta = [...flatten(t.delta).keys()];
  const paths = [...new Set([...desired.keys(), ...reported.keys(), ...delta])].sort();
  const differs = (p: string): boolean =>
    delta.some((d) => d === p || p.startsWith(`${d}.`) || d.startsWith(`${p}.`));
  const table =
    paths.length === 0
      ? 'no settings yet (set one with `bulwark twin set DEVICE PATH=VALUE`)\n'
      : formatTable(paths, [
          { header: 'SETTING', value: (p) => p },
          { header: 'DESIRED', value: (p) => json(desired.get(p)) },
          { header: 'REPORTED', value: (p) => json(reported.get(p)) },
          { header: 'DELTA', value: (p) => (differs(p) ? 'pending' : '') },
        ]);
  const errors =
    r === null || r.errors.length === 0
      ? ''
      : '\nthe device could not apply:\n' +
        formatTable(r.errors, [
          { header: 'SETTING', value: (e) => e.path },
          { header: 'ERROR', value: (e) => e.message },
        ]);
  return `${head}\n${table}${errors}`;
}

const showTwin = (ctx: Context, t: TwinView): void => ctx.print(t, () => formatTwin(t));

/** `bulwark twin get|set`. */
export const twinCommands: Command[] = [
  {
    path: ['twin', 'get'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary: "Show a device's twin: desired and reported settings, the delta and versions.",
    run: async (ctx) => showTwin(ctx, await ctx.client().twins.get(ctx.args[0] ?? '')),
  },
  {
    path: ['twin', 'set'],
    args: ['DEVICE?', 'PATH=VALUE...?'],
    summary:
      'Change desired settings (PATH=VALUE, JSON or text; null deletes) of one or many devices.',
    options: {
      set: {
        type: 'string',
        multiple: true,
        value: 'PATH=VALUE',
        help: 'one more setting (repeatable)',
      },
      patch: {
        type: 'string',
        value: 'JSON',
        help: 'a JSON merge patch (RFC 7386) object, merged with the PATH=VALUE settings',
      },
      'if-version': {
        type: 'string',
        value: 'N',
        help: 'only if the desired state is still at version N (one device only)',
      },
      ...SELECTOR_OPTIONS,
    },
    run: async (ctx) => {
      // Device ids and names never contain '=': a first argument with one is already a setting.
      const [first, ...rest] = ctx.args;
      const device = first !== undefined && !first.includes('=') ? first : undefined;
      const assignments = [...(device === undefined ? ctx.args : rest), ...ctx.strs('set')];
      const target = deviceOrSelector(ctx, device);
      const patch: JsonObject = parsed(ctx, () => buildMergePatch(assignments, ctx.str('patch')));
      if (Object.keys(patch).length === 0) {
        throw ctx.usage('nothing to change: give PATH=VALUE, --set or --patch');
      }
      const ifVersion = ctx.int('if-version');
      const client = ctx.client();
      if ('device' in target) {
        showTwin(ctx, await client.twins.patchDesired(target.device, patch, ifVersion));
        return;
      }
      if (ifVersion !== undefined) throw ctx.usage('--if-version takes one DEVICE, not a filter');
      const r = await client.twins.bulkPatch(target.filter, patch);
      ctx.print(r, () =>
        formatFields([
          ['matched', `${r.matched} device${r.matched === 1 ? '' : 's'}`],
          ['changed', r.updated],
        ]),
      );
    },
  },
];
