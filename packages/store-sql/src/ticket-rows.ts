import type { AccessTicketRecord, TicketPerm } from '@bulwark/core';
import type { ColumnCodec, ColumnTypes } from './columns.js';

/** A row of `access_tickets`; `backup` is the dialect's boolean. */
export interface TicketRow<T extends ColumnTypes> {
  jti: string;
  org_id: string;
  device_id: string;
  perm: string;
  issued_by: string;
  issued_by_type: string;
  issued_at: number;
  expires_at: number;
  backup: T['bool'];
  revoked_at: number | null;
}

/** The `access_tickets` row → AccessTicketRecord mapper for one dialect's codec. */
export const toTicketWith =
  <T extends ColumnTypes>(codec: ColumnCodec<T>) =>
  (r: TicketRow<T>): AccessTicketRecord => ({
    jti: r.jti,
    orgId: r.org_id,
    deviceId: r.device_id,
    perm: r.perm as TicketPerm,
    issuedBy: r.issued_by,
    issuedByType: r.issued_by_type as AccessTicketRecord['issuedByType'],
    issuedAt: r.issued_at,
    expiresAt: r.expires_at,
    backup: codec.bool(r.backup),
    revokedAt: r.revoked_at,
  });

/**
 * A ticket's `access_tickets` values in column order (jti, org_id, device_id, perm, issued_by,
 * issued_by_type, issued_at, expires_at, backup, revoked_at); `backup` as the dialect stores it.
 */
export const ticketValues = <B>(t: AccessTicketRecord, bool: (v: boolean) => B): unknown[] => [
  t.jti,
  t.orgId,
  t.deviceId,
  t.perm,
  t.issuedBy,
  t.issuedByType,
  t.issuedAt,
  t.expiresAt,
  bool(t.backup),
  t.revokedAt,
];
