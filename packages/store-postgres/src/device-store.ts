import type { Pool } from 'pg';
import {
  decodeIdCursor,
  encodeIdCursor,
  pageSize,
  type Device,
  type DeviceFilter,
  type DevicePatch,
  type DeviceStore,
} from '@bulwark/core';
import {
  DEVICE_COLUMNS,
  deviceOrderBy,
  pageOf,
  toDeviceWith,
  type DeviceRow,
} from '@bulwark/store-sql';
import { PG_COLUMNS, type PgColumns } from './codec.js';
import { query } from './db.js';

const toDevice = toDeviceWith(PG_COLUMNS);

/** Whether the device of a `devices` row is online now (its presence record). */
const ONLINE = `EXISTS (SELECT 1 FROM device_presence p
  WHERE p.device_id = devices.id AND p.org_id = devices.org_id AND p.online = 1)`;

/** The WHERE conditions (ANDed) of a device filter, their values, and a way to add more. */
function whereOf(orgId: string, filter: DeviceFilter) {
  const values: unknown[] = [orgId];
  const where = ['org_id = $1'];
  const add = (sql: (p: string) => string, value: unknown): void => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  if (filter.type !== undefined) add((p) => `type = ${p}`, filter.type);
  if (filter.state !== undefined) add((p) => `state = ${p}`, filter.state);
  if (filter.tags !== undefined && filter.tags.length > 0) {
    add((p) => `tags @> ${p}::text[]`, filter.tags);
  }
  if (filter.locationIds !== undefined) {
    add((p) => `location_id = ANY(${p}::text[])`, filter.locationIds);
  }
  if (filter.nameContains !== undefined) {
    // strpos, not LIKE: the needle's % and _ must match themselves.
    add((p) => `strpos(lower(name), lower(${p})) > 0`, filter.nameContains);
  }
  if (filter.firmwareVersion !== undefined) {
    add((p) => `firmware_version = ${p}`, filter.firmwareVersion);
  }
  if (filter.online !== undefined) where.push(filter.online ? ONLINE : `NOT ${ONLINE}`);
  return { where, values, add };
}

/** The devices table behind the DeviceStore port; tags are a text[] column. */
export function createDeviceStore(pool: Pool): DeviceStore {
  const get = async (orgId: string, id: string): Promise<Device | undefined> => {
    const r = await query<DeviceRow<PgColumns>>(
      pool,
      'SELECT * FROM devices WHERE org_id = $1 AND id = $2',
      [orgId, id],
    );
    return r.rows[0] && toDevice(r.rows[0]);
  };
  return {
    async create(d) {
      await query(
        pool,
        `INSERT INTO devices (id, org_id, name, type, firmware_type, firmware_version, tags, mode,
           state, location_id, last_seen_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10, $11, $12, $13)`,
        [
          d.id,
          d.orgId,
          d.name,
          d.type,
          d.firmwareType,
          d.firmwareVersion,
          d.tags,
          d.mode,
          d.state,
          d.locationId,
          d.lastSeenAt,
          d.createdAt,
          d.updatedAt,
        ],
      );
    },
    get,
    async getByName(orgId, name) {
      const r = await query<DeviceRow<PgColumns>>(
        pool,
        'SELECT * FROM devices WHERE org_id = $1 AND name = $2',
        [orgId, name],
      );
      return r.rows[0] && toDevice(r.rows[0]);
    },
    async list(orgId, filter, page) {
      const { where, values, add } = whereOf(orgId, filter);
      if (page.cursor != null) add((p) => `id > ${p}`, decodeIdCursor(page.cursor));
      const limit = pageSize(page.limit);
      values.push(limit + 1);
      const r = await query<DeviceRow<PgColumns>>(
        pool,
        `SELECT * FROM devices WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${values.length}`,
        values,
      );
      return pageOf(r.rows, limit, toDevice, (last) => encodeIdCursor(last.id));
    },
    async window(orgId, filter, req) {
      const { where, values } = whereOf(orgId, filter);
      const cond = where.join(' AND ');
      const count = await query<{ n: string }>(
        pool,
        `SELECT count(*) AS n FROM devices WHERE ${cond}`,
        values,
      );
      const n = values.length;
      const r = await query<DeviceRow<PgColumns> & { online_now: boolean }>(
        pool,
        `SELECT devices.*, ${ONLINE} AS online_now FROM devices WHERE ${cond}
         ORDER BY ${deviceOrderBy(req.sort, req.descending, ' COLLATE "C"')}
         LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...values, pageSize(req.limit), req.offset],
      );
      return {
        items: r.rows.map((row) => ({ ...toDevice(row), online: row.online_now })),
        total: Number(count.rows[0]?.n ?? 0),
      };
    },
    async update(orgId, id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of Object.entries(DEVICE_COLUMNS)) {
        const value = patch[key as keyof DevicePatch];
        if (value === undefined) continue;
        values.push(value);
        // tags need an explicit array cast.
        sets.push(`${column} = $${values.length}${key === 'tags' ? '::text[]' : ''}`);
      }
      if (sets.length === 0) return get(orgId, id);
      values.push(orgId, id);
      const r = await query<DeviceRow<PgColumns>>(
        pool,
        `UPDATE devices SET ${sets.join(', ')}
         WHERE org_id = $${values.length - 1} AND id = $${values.length} RETURNING *`,
        values,
      );
      return r.rows[0] && toDevice(r.rows[0]);
    },
    async orgOf(id) {
      const r = await query<{ org_id: string }>(pool, 'SELECT org_id FROM devices WHERE id = $1', [
        id,
      ]);
      return r.rows[0]?.org_id;
    },
    async countInLocations(orgId, locationIds) {
      if (locationIds.length === 0) return 0;
      const r = await query<{ n: number }>(
        pool,
        'SELECT count(*) AS n FROM devices WHERE org_id = $1 AND location_id = ANY($2::text[])',
        [orgId, locationIds],
      );
      return r.rows[0]?.n ?? 0;
    },
  };
}
