import type { Pool } from 'pg';
import type { TicketStore } from '@bulwark/core';
import { ticketValues, toTicketWith, type TicketRow } from '@bulwark/store-sql';
import { PG_COLUMNS, type PgColumns } from './codec.js';
import { query } from './db.js';

const toTicket = toTicketWith(PG_COLUMNS);
type Row = TicketRow<PgColumns>;

/** The access_tickets table behind the TicketStore port. */
export function createTicketStore(pool: Pool): TicketStore {
  return {
    async create(t) {
      await query(
        pool,
        `INSERT INTO access_tickets (jti, org_id, device_id, perm, issued_by, issued_by_type,
           issued_at, expires_at, backup, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        ticketValues(t, (b) => b),
      );
    },
    async get(orgId, jti) {
      const r = await query<Row>(
        pool,
        'SELECT * FROM access_tickets WHERE org_id = $1 AND jti = $2',
        [orgId, jti],
      );
      const row = r.rows[0];
      return row && toTicket(row);
    },
    async listForDevice(orgId, deviceId, opts) {
      const r = await query<Row>(
        pool,
        `SELECT * FROM access_tickets WHERE org_id = $1 AND device_id = $2 AND expires_at > $3
         ORDER BY jti DESC LIMIT $4`,
        [orgId, deviceId, opts.unexpiredAt ?? Number.MIN_SAFE_INTEGER, opts.limit],
      );
      return r.rows.map(toTicket);
    },
    async revoke(orgId, jti, at) {
      const r = await query(
        pool,
        `UPDATE access_tickets SET revoked_at = $1
         WHERE org_id = $2 AND jti = $3 AND revoked_at IS NULL`,
        [at, orgId, jti],
      );
      return r.rowCount > 0;
    },
    async listRevoked(orgId, deviceId, now) {
      const r = await query<Row>(
        pool,
        `SELECT * FROM access_tickets WHERE org_id = $1 AND device_id = $2
           AND revoked_at IS NOT NULL AND expires_at > $3
         ORDER BY jti`,
        [orgId, deviceId, now],
      );
      return r.rows.map(toTicket);
    },
  };
}
