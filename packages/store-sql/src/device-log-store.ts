/**
 * Central device logs (migration 17, decision 0032): the `device_logs` table and the
 * DeviceLogStore on it, in plain SQL that SQLite and PostgreSQL both run (`?` placeholders; each
 * adapter supplies its runner, as for the management stores). Records sort by id (UUIDv7, made
 * when the hub stored them): arrival order, which for one device is the order it logged in.
 */
import type { DeviceLogFilter, DeviceLogRow, DeviceLogStore } from '@bulwark/core';
import { decodeIdCursor, encodeIdCursor } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';
import { pageOf } from './page.js';

/**
 * The migration-19 table. `int` is BIGINT on PostgreSQL, INTEGER on SQLite; `idText` gives
 * PostgreSQL's "C" collation so ids sort byte-wise as in SQLite. One index serves a device's
 * queries and its row limit, one the age limit.
 */
export function deviceLogSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
CREATE TABLE device_logs (
  id ${idText} PRIMARY KEY,
  org_id ${idText} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  device_id ${idText} NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  ts ${int} NOT NULL,
  received_at ${int} NOT NULL,
  priority ${int} NOT NULL,
  source text NOT NULL,
  message text NOT NULL,
  fields text
);
CREATE INDEX device_logs_device ON device_logs (org_id, device_id, id);
CREATE INDEX device_logs_received ON device_logs (received_at);
`;
}

interface LogRow {
  id: string;
  org_id: string;
  device_id: string;
  ts: number | string;
  received_at: number | string;
  priority: number | string;
  source: string;
  message: string;
  fields: string | null;
}

const toLog = (r: LogRow): DeviceLogRow => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  ts: Number(r.ts),
  receivedAt: Number(r.received_at),
  priority: Number(r.priority),
  source: r.source,
  message: r.message,
  fields: r.fields === null ? null : (JSON.parse(r.fields) as DeviceLogRow['fields']),
});

const COLUMNS = 'id, org_id, device_id, ts, received_at, priority, source, message, fields';

/** `%`, `_` and the escape itself taken literally in a LIKE pattern. */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The WHERE clause of a device's records under a filter. */
function where(
  orgId: string,
  deviceId: string,
  f: DeviceLogFilter,
): { sql: string[]; params: unknown[] } {
  const sql = ['org_id = ?', 'device_id = ?'];
  const params: unknown[] = [orgId, deviceId];
  if (f.since !== undefined) {
    sql.push('ts >= ?');
    params.push(f.since);
  }
  if (f.until !== undefined) {
    sql.push('ts < ?');
    params.push(f.until);
  }
  if (f.maxPriority !== undefined) {
    sql.push('priority <= ?');
    params.push(f.maxPriority);
  }
  if (f.source !== undefined) {
    sql.push('source = ?');
    params.push(f.source);
  }
  if (f.contains !== undefined) {
    // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    sql.push("lower(message) LIKE ? ESCAPE '\\'");
    params.push(`%${likeLiteral(f.contains.toLowerCase())}%`);
  }
  return { sql, params };
}

/** Builds the DeviceLogStore on a dialect's runner. */
export function createDeviceLogStore(db: SqlRunner): DeviceLogStore {
  return {
    async append(rows) {
      if (rows.length === 0) return;
      const values: unknown[] = [];
      for (const r of rows)
        values.push(
          r.id,
          r.orgId,
          r.deviceId,
          r.ts,
          r.receivedAt,
          r.priority,
          r.source,
          r.message,
          r.fields === null ? null : JSON.stringify(r.fields),
        );
      // One statement: a batch is stored whole or not at all (batches are ≤ 500 rows, 4,500
      // parameters, inside both drivers' limits).
      await db.run(
        `INSERT INTO device_logs (${COLUMNS}) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        values,
      );
    },
    async list(orgId, deviceId, filter, page) {
      const w = where(orgId, deviceId, filter);
      const newest = page.order === 'newest';
      if (page.cursor) {
        w.sql.push(newest ? 'id < ?' : 'id > ?');
        w.params.push(decodeIdCursor(page.cursor));
      }
      const rows = await db.all<LogRow>(
        `SELECT ${COLUMNS} FROM device_logs WHERE ${w.sql.join(' AND ')}
         ORDER BY id ${newest ? 'DESC' : 'ASC'} LIMIT ?`,
        [...w.params, page.limit + 1],
      );
      return pageOf(rows, page.limit, toLog, (r) => encodeIdCursor(r.id));
    },
    async after(orgId, deviceId, afterId, filter, limit) {
      const w = where(orgId, deviceId, filter);
      if (afterId !== null) {
        w.sql.push('id > ?');
        w.params.push(afterId);
      }
      const rows = await db.all<LogRow>(
        `SELECT ${COLUMNS} FROM device_logs WHERE ${w.sql.join(' AND ')} ORDER BY id ASC LIMIT ?`,
        [...w.params, limit],
      );
      return rows.map(toLog);
    },
    async lastId(orgId, deviceId) {
      const rows = await db.all<{ id: string }>(
        'SELECT id FROM device_logs WHERE org_id = ? AND device_id = ? ORDER BY id DESC LIMIT 1',
        [orgId, deviceId],
      );
      return rows[0]?.id;
    },
    async pruneReceivedBefore(before, limit) {
      return db.run(
        `DELETE FROM device_logs WHERE id IN (
           SELECT id FROM device_logs WHERE received_at < ? LIMIT ?)`,
        [before, limit],
      );
    },
    async pruneDevice(orgId, deviceId, keep) {
      // Everything at or below the (keep+1)-th newest id goes; with fewer rows the subquery is
      // NULL and nothing does.
      return db.run(
        `DELETE FROM device_logs WHERE org_id = ? AND device_id = ? AND id <= (
           SELECT id FROM device_logs WHERE org_id = ? AND device_id = ?
           ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        [orgId, deviceId, orgId, deviceId, Math.max(0, Math.floor(keep))],
      );
    },
  };
}
