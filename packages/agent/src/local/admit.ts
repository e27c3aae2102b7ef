/**
 * Admitting a ticket presented on the device — on the LAN port or inside a relayed tunnel: the
 * offline checks (ticket.ts), the session's target, revocation and one-time use. One function, so
 * both ways in refuse a ticket for the same reasons.
 */
import type { AccessTicketClaims } from '@bulwark/protocol';
import type { LocalPortHost } from '../ports.js';
import { TicketRefusal, verifyTicket } from './ticket.js';
import type { UsedTickets } from './used-tickets.js';

/** The use of a ticket could not be recorded: it is spent, and the session must close. */
export class TicketStorageError extends Error {
  override readonly name = 'TicketStorageError';
}

/** What a ticket is checked against. */
export interface AdmitDeps {
  host: LocalPortHost;
  used: UsedTickets;
  clockSkewSeconds: number;
  /** What this session opens: `local` (the LAN port, or a tunnel to it), `serial`, `tcp:PORT`. */
  target: string;
}

/** Verifies and spends a ticket; throws TicketRefusal or TicketStorageError. */
export async function admitTicket(jws: string, d: AdmitDeps): Promise<AccessTicketClaims> {
  const { host, used } = d;
  if (jws === '') throw new TicketRefusal('ticket_malformed', 'usage: ticket <ticket>');
  const claims = verifyTicket(jws, {
    deviceId: host.deviceId,
    orgId: host.orgId,
    issuers: host.ticketIssuers(),
    now: host.clock.now(),
    skewSeconds: d.clockSkewSeconds,
  });
  const opens = claims.tgt ?? 'local';
  if (opens !== d.target)
    throw new TicketRefusal(
      'ticket_wrong_target',
      `the ticket opens ${opens}, this session is ${d.target}`,
    );
  if (host.revokedTickets().has(claims.jti))
    throw new TicketRefusal('ticket_revoked', 'the ticket has been revoked');
  if (claims.iat < used.issuedBefore || used.has(claims.jti))
    throw new TicketRefusal('ticket_reused', 'the ticket has already been used');
  let first: boolean;
  try {
    first = await used.claim(claims.jti, claims.exp);
  } catch (err) {
    // Fail closed: a use that cannot be recorded could be repeated after a reboot.
    throw new TicketStorageError(String((err as Error).message ?? err));
  }
  if (!first) throw new TicketRefusal('ticket_reused', 'the ticket has already been used');
  return claims;
}
