import type { Database } from 'better-sqlite3';
import type { Device, DevicePatch, DeviceState, DeviceStore, OperatingMode } from '@bulwark/core';
import { decodeIdCursor, encodeIdCursor, pageSize, parseStrings } from './codec.js';
import { mapUnique } from './errors.js';

interface DeviceRow {
  id: string;
  org_id: string;
  name: string;
  type: string;
  firmware_type: string | null;
  firmware_version: string | null;
  tags: string;
  mode: string;
  state: string;
  location_id: string | null;
  last_seen_at: number | null;
  created_at: number;
  updated_at: number;
}

const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  type: r.type,
  firmwareType: r.firmware_type,
  firmwareVersion: r.firmware_version,
  tags: parseStrings(r.tags),
  mode: r.mode as OperatingMode,
  state: r.state as DeviceState,
  locationId: r.location_id,
  lastSeenAt: r.last_seen_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Patchable device fields and their columns. */
const COLUMNS = {
  name: 'name',
  type: 'type',
  firmwareType: 'firmware_type',
  firmwareVersion: 'firmware_version',
  tags: 'tags',
  mode: 'mode',
  state: 'state',
  locationId: 'location_id',
  lastSeenAt: 'last_seen_at',
  updatedAt: 'updated_at',
} as const satisfies Record<keyof DevicePatch, string>;

/** The devices table behind the DeviceStore port; tags are a JSON array in TEXT. */
export function createDeviceStore(db: Database): DeviceStore {
  const get = (orgId: string, id: string): Device | undefined => {
    const row = db.prepare('SELECT * FROM devices WHERE org_id = ? AND id = ?').get(orgId, id) as
      DeviceRow | undefined;
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
        .get(orgId, name) as DeviceRow | undefined;
      return row && toDevice(row);
    },
    async list(orgId, filter, page) {
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
      if (page.cursor != null) {
        where.push('id > ?');
        values.push(decodeIdCursor(page.cursor));
      }
      const limit = pageSize(page.limit);
      const rows = db
        .prepare(`SELECT * FROM devices WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
        .all(...values, limit + 1) as DeviceRow[];
      const items = rows.slice(0, limit).map(toDevice);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeIdCursor(last.id) : null };
    },
    async update(orgId, id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of Object.entries(COLUMNS)) {
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
            .get(...values, orgId, id) as DeviceRow | undefined,
      );
      return row && toDevice(row);
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
