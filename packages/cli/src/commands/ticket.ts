import type { TicketView } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { formatFields, formatTable, type Column, listJson } from '../output.js';
import { parseDuration } from './management-args.js';

const PERMS = ['read', 'operate', 'admin'] as const;

/**
 * A duration flag (`90`, `90s`, `5m`, `2h`, `30d`, `1h30m`) in seconds; undefined when absent.
 * Anything else, or zero, is a usage error, never a silent default.
 */
export function durationSeconds(ctx: Context, name: string): number | undefined {
  const text = ctx.str(name);
  if (text === undefined) return undefined;
  let seconds = 0;
  try {
    seconds = parseDuration(text.trim());
  } catch {
    // reported below
  }
  if (seconds <= 0)
    throw ctx.usage(`--${name} must be a duration like 90s, 5m, 2h or 30d, not '${text}'`);
  return seconds;
}

const TICKET_COLUMNS: Column<TicketView>[] = [
  { header: 'JTI', value: (t) => t.jti },
  { header: 'PERM', value: (t) => t.perm },
  { header: 'BACKUP', value: (t) => (t.backup ? 'yes' : 'no') },
  { header: 'ISSUED', value: (t) => t.issuedAt },
  { header: 'EXPIRES', value: (t) => t.expiresAt },
  { header: 'REVOKED', value: (t) => t.revokedAt },
  { header: 'BY', value: (t) => t.issuedBy },
];

/** `bulwark ticket issue|list|revoke`: one-time access tickets for a device's local port. */
export const ticketCommands: Command[] = [
  {
    path: ['ticket', 'issue'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary: "Issue a one-time access ticket for a device's local management port.",
    options: {
      perm: { type: 'string', value: 'LEVEL', help: 'read, operate or admin (required)' },
      ttl: {
        type: 'string',
        value: 'DURATION',
        help: 'lifetime of a normal ticket, 1m-15m (default 5m)',
      },
      backup: {
        type: 'boolean',
        help: 'a backup ticket for an isolated site: valid for days, listed and revocable',
      },
      valid: {
        type: 'string',
        value: 'DURATION',
        help: 'lifetime of a backup ticket, up to 90d (default 30d)',
      },
    },
    run: async (ctx) => {
      const perm = ctx.choice('perm', PERMS);
      if (perm === undefined) throw ctx.usage('--perm is required (read, operate or admin)');
      const backup = ctx.flag('backup');
      const ttl = durationSeconds(ctx, 'ttl');
      const valid = durationSeconds(ctx, 'valid');
      if (valid !== undefined && !backup) throw ctx.usage('--valid is for --backup tickets');
      if (ttl !== undefined && backup) throw ctx.usage('a backup ticket takes --valid, not --ttl');
      const ttlSeconds = backup ? valid : ttl;
      const t = await ctx.client().tickets.issue(ctx.args[0] ?? '', {
        perm,
        ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
        ...(backup ? { backup: true } : {}),
      });
      ctx.print(t, () => {
        const note =
          'note: the ticket is shown only this once and works once; on the device:\n' +
          '  openssl s_client -connect DEVICE:PORT -quiet   then type: ticket <the ticket>\n';
        return (
          formatFields([
            ['jti', t.jti],
            ['device', t.deviceId],
            ['perm', t.perm],
            ['backup', t.backup ? 'yes' : 'no'],
            ['expires', t.expiresAt],
            ['ticket', t.ticket],
          ]) + note
        );
      });
    },
  },
  {
    path: ['ticket', 'list'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary: "List a device's access tickets (unexpired ones unless --all).",
    options: { all: { type: 'boolean', help: 'include expired tickets' } },
    run: async (ctx) => {
      const tickets = await ctx
        .client()
        .tickets.list(ctx.args[0] ?? '', ctx.flag('all') ? { all: true } : {});
      ctx.print(listJson(tickets), () => formatTable(tickets, TICKET_COLUMNS));
    },
  },
  {
    path: ['ticket', 'revoke'],
    args: ['DEVICE', 'JTI'],
    ids: { DEVICE: 'device' },
    summary:
      'Revoke an access ticket (a backup ticket is refused by the device after its next sync).',
    run: async (ctx) => {
      const t = await ctx.client().tickets.revoke(ctx.args[0] ?? '', ctx.args[1] ?? '');
      ctx.print(t, () => `revoked ticket ${t.jti}\n`);
    },
  },
];
