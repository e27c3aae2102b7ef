import type { Database } from 'better-sqlite3';
import type { TicketStore } from '@bulwark/core';
import { ticketValues, toTicketWith, type TicketRow } from '@bulwark/store-sql';
import { SQLITE_COLUMNS, type SqliteColumns } from './codec.js';

const toTicket = toTicketWith(SQLITE_COLUMNS);
type Row = TicketRow<SqliteColumns>;

/** The access_tickets table behind the TicketStore port. */
export function createTicketStore(db: Database): TicketStore {
  return {
    async create(t) {
      db.prepare(
        `INSERT INTO access_tickets (jti, org_id, device_id, perm, issued_by, issued_by_type,
           issued_at, expires_at, backup, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(...ticketValues(t, (b) => (b ? 1 : 0)));
    },
    async get(orgId, jti) {
      const row = db
        .prepare('SELECT * FROM access_tickets WHERE org_id = ? AND jti = ?')
        .get(orgId, jti) as Row | undefined;
      return row && toTicket(row);
    },
    async listForDevice(orgId, deviceId, opts) {
      const rows = db
        .prepare(
          `SELECT * FROM access_tickets WHERE org_id = ? AND device_id = ? AND expires_at > ?
           ORDER BY jti DESC LIMIT ?`,
        )
        .all(orgId, deviceId, opts.unexpiredAt ?? Number.MIN_SAFE_INTEGER, opts.limit) as Row[];
      return rows.map(toTicket);
    },
    async revoke(orgId, jti, at) {
      return (
        db
          .prepare(
            'UPDATE access_tickets SET revoked_at = ? WHERE org_id = ? AND jti = ? AND revoked_at IS NULL',
          )
          .run(at, orgId, jti).changes > 0
      );
    },
    async listRevoked(orgId, deviceId, now) {
      const rows = db
        .prepare(
          `SELECT * FROM access_tickets WHERE org_id = ? AND device_id = ?
             AND revoked_at IS NOT NULL AND expires_at > ?
           ORDER BY jti`,
        )
        .all(orgId, deviceId, now) as Row[];
      return rows.map(toTicket);
    },
  };
}
