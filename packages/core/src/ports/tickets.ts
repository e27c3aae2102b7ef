/**
 * The access-ticket port: what the hub remembers of the one-time tickets it issued for devices'
 * local management ports. The ticket itself (a signed JWS) is never stored: the device verifies it
 * offline, and the hub keeps only what it needs to list, audit and revoke.
 */
import type { AccessTicketClaims } from '@bulwark/protocol';

/** A permission level on the local port. */
export type TicketPerm = AccessTicketClaims['perm'];

/** One issued ticket, as the hub records it. Times are epoch milliseconds. */
export interface AccessTicketRecord {
  /** The ticket id (the JWS's `jti`; a UUIDv7). */
  jti: string;
  orgId: string;
  deviceId: string;
  perm: TicketPerm;
  /** Who asked for it: a user id or an API key id (`issuedByType` says which). */
  issuedBy: string;
  issuedByType: 'user' | 'api_key';
  issuedAt: number;
  expiresAt: number;
  /** Issued ahead of time for an isolated site (days, revocable); else minutes. */
  backup: boolean;
  revokedAt: number | null;
}

/** The store behind TicketService. Every query is scoped to an organization. */
export interface TicketStore {
  create(ticket: AccessTicketRecord): Promise<void>;
  get(orgId: string, jti: string): Promise<AccessTicketRecord | undefined>;
  /**
   * A device's tickets, newest first, at most `limit`: all of them, or with `unexpiredAt` only
   * those that expire after that time.
   */
  listForDevice(
    orgId: string,
    deviceId: string,
    opts: { unexpiredAt?: number; limit: number },
  ): Promise<AccessTicketRecord[]>;
  /** Returns false when no such ticket in this organization or already revoked. */
  revoke(orgId: string, jti: string, at: number): Promise<boolean>;
  /**
   * The revoked tickets of a device that have not expired at `now`, oldest first: the list a
   * device must refuse (an expired ticket is refused anyway, so it drops out of the list).
   */
  listRevoked(orgId: string, deviceId: string, now: number): Promise<AccessTicketRecord[]>;
}
