import type { AccessTicketRecord } from '@bulwark/core';
import type { TicketView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type TicketHandlers = Pick<Handlers, 'issueTicket' | 'listTickets' | 'revokeTicket' | 'openTunnel'>;

const iso = (ms: number) => new Date(ms).toISOString();

/** A ticket record as the API shows it (the signed ticket itself is never stored). */
export const ticketView = (t: AccessTicketRecord): TicketView => ({
  jti: t.jti,
  deviceId: t.deviceId,
  perm: t.perm,
  issuedBy: t.issuedBy,
  issuedByType: t.issuedByType,
  issuedAt: iso(t.issuedAt),
  expiresAt: iso(t.expiresAt),
  backup: t.backup,
  revokedAt: t.revokedAt === null ? null : iso(t.revokedAt),
});

/**
 * Access tickets for devices' local ports. Issue and revoke are audited by the app's audit hook
 * (every mutating call, success or failure); the handlers add what the log should say.
 */
export function ticketHandlers(s: HttpServices): TicketHandlers {
  return {
    issueTicket: async ({ params, body }, ctx) => {
      ctx.audit.detail = { perm: body.perm, backup: body.backup === true };
      const { ticket, record } = await s.tickets.issue(principalOf(ctx), params.id, body);
      ctx.audit.detail = {
        jti: record.jti,
        perm: record.perm,
        backup: record.backup,
        expiresAt: iso(record.expiresAt),
      };
      return {
        ticket,
        jti: record.jti,
        deviceId: record.deviceId,
        perm: record.perm,
        issuedAt: iso(record.issuedAt),
        expiresAt: iso(record.expiresAt),
        backup: record.backup,
      };
    },
    listTickets: async ({ params, query }, ctx) =>
      (
        await s.tickets.list(principalOf(ctx).orgId, params.id, {
          all: query?.all === true,
          limit: query?.limit ?? 100,
        })
      ).map(ticketView),
    openTunnel: async ({ params, body }, ctx) => {
      ctx.audit.detail = { target: body.target };
      const t = await s.tunnels.open(principalOf(ctx), params.id, body);
      ctx.audit.detail = {
        session: t.sessionId,
        jti: t.jti,
        target: t.target,
        perm: t.perm,
        maxSeconds: t.maxSeconds,
        maxBytes: t.maxBytes,
      };
      return { ...t, pairBy: iso(t.pairBy) };
    },
    revokeTicket: async ({ params }, ctx) => {
      ctx.audit.detail = { jti: params.jti };
      return ticketView(await s.tickets.revoke(principalOf(ctx), params.id, params.jti));
    },
  };
}
