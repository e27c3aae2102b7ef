import type { CommandView } from '@bulwark/protocol';
import { COMMAND_STATES } from '@bulwark/protocol/lite';
import { CommandWaitTimeout } from '@bulwark/sdk';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { resolveName } from '../names.js';
import { formatFields, formatTable, type Column } from '../output.js';
import {
  PAGE_OPTIONS,
  SELECTOR_OPTIONS,
  printList,
  buildParams,
  deviceOrSelector,
  parseDuration,
  parsed,
} from './management-args.js';

const COMMAND_COLUMNS: Column<CommandView>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'NAME', value: (c) => c.name },
  { header: 'STATE', value: (c) => c.state },
  { header: 'CREATED', value: (c) => c.createdAt },
  { header: 'DEADLINE', value: (c) => c.deadline },
  { header: 'ERROR', value: (c) => c.error?.code },
];

const jsonOrNone = (v: unknown): string | null =>
  v === null || v === undefined ? null : JSON.stringify(v);

/** A command as label/value lines, then its state history. */
export function formatCommand(c: CommandView): string {
  const fields = formatFields([
    ['id', c.id],
    ['device', c.deviceId],
    ['name', c.name],
    ['params', Object.keys(c.params).length === 0 ? null : jsonOrNone(c.params)],
    ['state', c.state],
    ['deadline', c.deadline],
    ['created', c.createdAt],
    ['updated', c.updatedAt],
    ['result', jsonOrNone(c.result)],
    ['error', c.error === null ? null : `${c.error.code}: ${c.error.message}`],
  ]);
  if (c.history.length === 0) return fields;
  return `${fields}\nhistory:\n${formatTable(c.history, [
    { header: 'STATE', value: (h) => h.state },
    { header: 'AT', value: (h) => h.at },
    { header: 'REASON', value: (h) => h.reason },
  ])}`;
}

export const showCommand = (ctx: Context, c: CommandView): void =>
  ctx.print(c, () => formatCommand(c));

// After the deadline the hub marks an unfinished command expired on its next sweep (every ~2 s);
// waiting a little past the deadline lets the wait end on that final state.
const WAIT_GRACE_MS = 5000;

/**
 * Waits for a command to finish and prints it; exit 0 only when it succeeded. Its id goes to stderr
 * at once and each new state after it (decision 0029), so a wait of hours is neither silent nor
 * lost if interrupted: `bulwark command get ID` picks it up.
 */
export async function waitAndShow(ctx: Context, sent: CommandView): Promise<number> {
  const timeoutMs = Math.max(0, Date.parse(sent.deadline) - Date.now()) + WAIT_GRACE_MS;
  ctx.io.err(`command ${sent.id}: ${sent.state} (waiting until ${sent.deadline})\n`);
  let last = sent.state;
  const onPoll = (c: CommandView): void => {
    if (c.state !== last) ctx.io.err(`command ${c.id}: ${c.state}\n`);
    last = c.state;
  };
  let done: CommandView;
  try {
    done = await ctx.client().commands.wait(sent.id, { timeoutMs, onPoll });
  } catch (err) {
    if (!(err instanceof CommandWaitTimeout)) throw err;
    showCommand(ctx, err.command);
    throw new CliError(`${err.message} (its deadline has passed; see \`bulwark command get\`)`);
  }
  showCommand(ctx, done);
  if (done.state === 'succeeded') return 0;
  ctx.io.err(
    `command ${done.id} ${done.state}` +
      (done.error === null ? '\n' : `: ${done.error.code}: ${done.error.message}\n`),
  );
  return 1;
}

/** `bulwark command send|list|get|cancel`. */
export const commandCommands: Command[] = [
  {
    path: ['command', 'send'],
    args: ['DEVICE?', 'NAME?'],
    summary: 'Send command NAME to one or many devices (queued while a device is offline).',
    options: {
      param: {
        type: 'string',
        multiple: true,
        value: 'KEY=VALUE',
        help: 'a parameter (repeatable; VALUE is JSON when it parses, else text)',
      },
      timeout: {
        type: 'string',
        value: 'DURATION',
        help: 'deadline from now, e.g. 90s, 10m, 2h, 1d (default 1h, at most 30d)',
      },
      wait: {
        type: 'boolean',
        help: 'wait until the command finishes; exit 1 unless it succeeded (one DEVICE only)',
      },
      ...SELECTOR_OPTIONS,
    },
    run: async (ctx) => {
      const bulk = ['tag', 'type', 'location'].some((k) => ctx.str(k) !== undefined);
      // With a filter the one argument is NAME; without, DEVICE then NAME.
      const [device, name] = bulk ? [undefined, ctx.args[0]] : [ctx.args[0], ctx.args[1]];
      if (bulk && ctx.args.length > 1) {
        throw ctx.usage('give either DEVICE or --tag/--type/--location, not both');
      }
      const target = deviceOrSelector(ctx, device);
      if (name === undefined) throw ctx.usage('missing NAME (the command to send)');
      const params = parsed(ctx, () => buildParams(ctx.strs('param')));
      const timeout = ctx.str('timeout');
      const timeoutSeconds =
        timeout === undefined ? undefined : parsed(ctx, () => parseDuration(timeout));
      const body = {
        name,
        ...(Object.keys(params).length === 0 ? {} : { params }),
        ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
      };
      const client = ctx.client();
      if ('device' in target) {
        const deviceId = await resolveName(() => client, 'device', target.device);
        const sent = await client.commands.send(deviceId, body);
        if (!ctx.flag('wait')) return showCommand(ctx, sent);
        return waitAndShow(ctx, sent);
      }
      if (ctx.flag('wait')) throw ctx.usage('--wait takes one DEVICE, not a filter');
      const r = await client.commands.bulkSend({ filter: target.filter, ...body });
      ctx.print(
        r,
        () =>
          formatFields([
            ['matched', `${r.matched} device${r.matched === 1 ? '' : 's'}`],
            ['queued', r.commandIds.length],
          ]) + r.commandIds.map((id) => `${id}\n`).join(''),
      );
    },
  },
  {
    path: ['command', 'list'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary: "List a device's commands, newest first.",
    options: {
      state: {
        type: 'string',
        value: 'S',
        help: `only commands in this state (${COMMAND_STATES.join(', ')})`,
      },
      ...PAGE_OPTIONS,
    },
    run: async (ctx) => {
      const device = ctx.args[0] ?? '';
      const query = { state: ctx.choice('state', COMMAND_STATES), limit: ctx.int('limit') };
      const client = ctx.client();
      await printList(
        ctx,
        COMMAND_COLUMNS,
        (cursor) => client.commands.list(device, { ...query, cursor }),
        () => client.commands.all(device, query),
      );
    },
  },
  {
    path: ['command', 'get'],
    args: ['ID'],
    summary: 'Show one command: its state, result or error, and its history.',
    options: {
      wait: { type: 'boolean', help: 'wait until it finishes; exit 1 unless it succeeded' },
    },
    run: async (ctx) => {
      const c = await ctx.client().commands.get(ctx.args[0] ?? '');
      if (ctx.flag('wait')) return waitAndShow(ctx, c);
      showCommand(ctx, c);
    },
  },
  {
    path: ['command', 'cancel'],
    args: ['ID'],
    summary: 'Cancel a command that is still queued or delivered.',
    run: async (ctx) => showCommand(ctx, await ctx.client().commands.cancel(ctx.args[0] ?? '')),
  },
];
