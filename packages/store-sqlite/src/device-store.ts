import type { Database } from 'better-sqlite3';
import {
  decodeIdCursor,
  encodeIdCursor,
  pageSize,
  type Device,
  type DevicePatch,
  type DeviceFilter,
  type DeviceStore,
} from '@bulwark/core';
import {
  DEVICE_COLUMNS,
  deviceOrderBy,
  pageOf,
  toDeviceWith,
  type DeviceRow,
} from '@bulwark/store-sql';
import { SQLITE_COLUMNS, type SqliteColumns } from './codec.js';
import { mapUnique } from './errors.js';

const toDevice = toDeviceWith(SQLITE_COLUMNS);

/** Whether the device of a `devices` row is online now (its presence record). */
const ONLINE = `EXISTS (SELECT 1 FROM device_presence p
  WHERE p.device_id = devices.id AND p.org_id = devices.org_id AND p.online = 1)`;

/** The WHERE conditions (ANDed) and their values of a device filter. */
function whereOf(orgId: string, filter: DeviceFilter): { where: string[]; values: unknown[] } {
  const where = ['org_id = ?'];
  const values: unknown[] = [orgId];
  if (filter.type !== undefined) {
    where.push('type = ?');
    values.push(filter.type);
  }
  if (filter.state !== undefined) {
    where.push('state = ?');
    values.push(filter.state);
  }
  for (const tag of filter.tags ?? []) {
    where.push('EXISTS (SELECT 1 FROM json_each(devices.tags) WHERE value = ?)');
    values.push(tag);
  }
  if (filter.locationIds !== undefined) {
    where.push('location_id IN (SELECT value FROM json_each(?))');
    values.push(JSON.stringify(filter.locationIds));
  }
  if (filter.nameContains !== undefined) {
    // instr, not LIKE: the needle's % and _ must match themselves.
    where.push('instr(lower(name), lower(?)) > 0');
    values.push(filter.nameContains);
  }
  if (filter.firmwareVersion !== undefined) {
    where.push('firmware_version = ?');
    values.push(filter.firmwareVersion);
  }
  if (filter.online !== undefined) where.push(filter.online ? ONLINE : `NOT ${ONLINE}`);
  return { where, values };
}

/** The devices table behind the DeviceStore port; tags are a JSON array in TEXT. */
export function createDeviceStore(db: Database): DeviceStore {
  const get = (orgId: string, id: string): Device | undefined => {
    const row = db.prepare('SELECT * FROM devices WHERE org_id = ? AND id = ?').get(orgId, id) as
      DeviceRow<SqliteColumns> | undefined;
    return row && toDevice(row);
  };
  return {
    async create(d) {
      mapUnique(() =>
        db
          .prepare(
            `INSERT INTO devices (id, org_id, name, type, firmware_type, firmware_version, tags,
               mode, state, location_id, last_seen_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            d.id,
            d.orgId,
            d.name,
            d.type,
            d.firmwareType,
            d.firmwareVersion,
            JSON.stringify(d.tags),
            d.mode,
            d.state,
            d.locationId,
            d.lastSeenAt,
            d.createdAt,
            d.updatedAt,
          ),
      );
    },
    async get(orgId, id) {
      return get(orgId, id);
    },
    async getByName(orgId, name) {
      const row = db
        .prepare('SELECT * FROM devices WHERE org_id = ? AND name = ?')
        .get(orgId, name) as DeviceRow<SqliteColumns> | undefined;
      return row && toDevice(row);
    },
    async list(orgId, filter, page) {
      const { where, values } = whereOf(orgId, filter);
      if (page.cursor != null) {
        where.push('id > ?');
        values.push(decodeIdCursor(page.cursor));
      }
      const limit = pageSize(page.limit);
      const rows = db
        .prepare(`SELECT * FROM devices WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
        .all(...values, limit + 1) as DeviceRow<SqliteColumns>[];
      return pageOf(rows, limit, toDevice, (last) => encodeIdCursor(last.id));
    },
    async window(orgId, filter, req) {
      const { where, values } = whereOf(orgId, filter);
      const cond = where.join(' AND ');
      const { n } = db
        .prepare(`SELECT count(*) AS n FROM devices WHERE ${cond}`)
        .get(...values) as {
        n: number;
      };
      const rows = db
        .prepare(
          `SELECT devices.*, ${ONLINE} AS online_now FROM devices WHERE ${cond}
           ORDER BY ${deviceOrderBy(req.sort, req.descending)} LIMIT ? OFFSET ?`,
        )
        .all(...values, pageSize(req.limit), req.offset) as (DeviceRow<SqliteColumns> & {
        online_now: number;
      })[];
      return {
        items: rows.map((r) => ({ ...toDevice(r), online: r.online_now === 1 })),
        total: n,
      };
    },
    async update(orgId, id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of Object.entries(DEVICE_COLUMNS)) {
        const value = patch[key as keyof DevicePatch];
        if (value === undefined) continue;
        sets.push(`${column} = ?`);
        values.push(Array.isArray(value) ? JSON.stringify(value) : value);
      }
      if (sets.length === 0) return get(orgId, id);
      const row = mapUnique(
        () =>
          db
            .prepare(
              `UPDATE devices SET ${sets.join(', ')} WHERE org_id = ? AND id = ? RETURNING *`,
            )
            .get(...values, orgId, id) as DeviceRow<SqliteColumns> | undefined,
      );
      return row && toDevice(row);
    },
    async orgOf(id) {
      const row = db.prepare('SELECT org_id FROM devices WHERE id = ?').get(id) as
        { org_id: string } | undefined;
      return row?.org_id;
    },
    async countInLocations(orgId, locationIds) {
      if (locationIds.length === 0) return 0;
      const row = db
        .prepare(
          `SELECT count(*) AS n FROM devices
           WHERE org_id = ? AND location_id IN (SELECT value FROM json_each(?))`,
        )
        .get(orgId, JSON.stringify(locationIds)) as { n: number };
      return row.n;
    },
  };
}
