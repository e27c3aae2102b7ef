/**
 * `bulwark logs DEVICE`: a device's central log records (decision 0032) — the newest ones,
 * printed oldest first like a log file, filtered by time, level, source and text; `--follow`
 * goes on printing new records as they arrive (long polls), until Ctrl-C or `--timeout`.
 */
import type { DeviceLogView } from '@bulwark/protocol';
import { LOG_LEVELS } from '@bulwark/protocol/lite';
import type { Command, Context } from '../command.js';
import { listJson } from '../output.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration back from now (`90s`, `10m`, `2h`, `7d`) or an RFC 3339 time. */
export function parseSince(v: string, now = Date.now()): string | undefined {
  const d = /^(\d{1,9})([smhd])$/.exec(v);
  if (d) return new Date(now - Number(d[1]) * UNITS[d[2]!]!).toISOString();
  if (/^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)))
    return new Date(Date.parse(v)).toISOString();
  return undefined;
}

/** One record as a line: time, level, source, message. */
export function formatLogLine(r: DeviceLogView): string {
  const fields = Object.keys(r.fields).length > 0 ? ` ${JSON.stringify(r.fields)}` : '';
  return `${r.ts} ${r.level.padEnd(9)} ${r.source}  ${r.message}${fields}`;
}

function filters(ctx: Context) {
  const level = ctx.choice('level', LOG_LEVELS);
  const source = ctx.str('source');
  const grep = ctx.str('grep');
  if (ctx.flag('regex') && grep === undefined) throw ctx.usage('--regex needs --grep');
  return {
    ...(level !== undefined ? { level } : {}),
    ...(source !== undefined ? { source } : {}),
    ...(grep !== undefined ? { grep } : {}),
    ...(ctx.flag('regex') ? { regex: true } : {}),
  };
}

async function run(ctx: Context): Promise<number | void> {
  const device = ctx.args[0] ?? '';
  const f = filters(ctx);
  const sinceArg = ctx.str('since');
  const since = sinceArg === undefined ? undefined : parseSince(sinceArg);
  if (sinceArg !== undefined && since === undefined)
    throw ctx.usage(
      `--since takes a duration (30s, 10m, 2h, 7d) or an RFC 3339 time, not '${sinceArg}'`,
    );
  const limit = ctx.int('limit') ?? 100;
  if (limit < 1 || limit > 500) throw ctx.usage('--limit must be from 1 to 500');
  const client = ctx.client();
  const follow = ctx.flag('follow');
  // The newest `limit` records, shown oldest first (the newest at the bottom, as in a log file).
  const page = await client.devices.logs(device, {
    ...f,
    ...(since !== undefined ? { since } : {}),
    limit,
  });
  const shown = [...page.items].reverse();
  if (!follow) {
    ctx.print(listJson(shown, page.nextCursor), () => {
      const more =
        page.nextCursor === null
          ? ''
          : `(older records not shown: --limit up to 500, or --since)\n`;
      return shown.map((r) => formatLogLine(r) + '\n').join('') + more;
    });
    return;
  }
  // Following: one line per record (JSON lines with --json), until Ctrl-C or --timeout.
  const out = (r: DeviceLogView) =>
    ctx.io.out((ctx.json ? JSON.stringify(r) : formatLogLine(r)) + '\n');
  for (const r of shown) out(r);
  const stop = new AbortController();
  const seconds = ctx.int('timeout');
  const timer = seconds === undefined ? undefined : setTimeout(() => stop.abort(), seconds * 1000);
  const onInt = () => stop.abort();
  process.once('SIGINT', onInt);
  try {
    const last = page.items[0]?.id;
    const wait = Math.max(1, Math.min(25, seconds ?? 25));
    for await (const r of client.devices.tailLogs(
      device,
      { ...f, wait, ...(last !== undefined ? { after: last } : {}) },
      stop.signal,
    ))
      out(r);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onInt);
  }
}

/** `bulwark logs`. */
export const logsCommands: Command[] = [
  {
    path: ['logs'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary: "Show a device's log records (its own log, files, journal); --follow for new ones.",
    options: {
      follow: { type: 'boolean', help: 'keep printing new records as they arrive (Ctrl-C stops)' },
      since: {
        type: 'string',
        value: 'DURATION|TIME',
        help: 'not before this (10m, 2h, 7d or RFC 3339)',
      },
      grep: { type: 'string', value: 'TEXT', help: 'messages containing TEXT (case-insensitive)' },
      regex: {
        type: 'boolean',
        help: 'TEXT of --grep is a regular expression (linear-time subset)',
      },
      level: {
        type: 'string',
        value: 'L',
        help: `this level and more severe: ${LOG_LEVELS.join(', ')}`,
      },
      source: {
        type: 'string',
        value: 'S',
        help: 'only this source (agent, file:PATH, journal:UNIT)',
      },
      limit: {
        type: 'string',
        value: 'N',
        help: 'how many of the newest records to show (1-500, default 100)',
      },
      timeout: { type: 'string', value: 'S', help: 'with --follow: stop after S seconds' },
    },
    run,
  },
];
