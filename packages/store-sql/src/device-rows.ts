import type {
  Device,
  DeviceKey,
  DevicePatch,
  DeviceSortKey,
  DeviceState,
  Location,
  LocationKind,
  OperatingMode,
} from '@bulwark/core';
import type { ColumnCodec, ColumnTypes } from './columns.js';

/** A row of `devices`; `tags` is the dialect's list of strings. */
export interface DeviceRow<T extends ColumnTypes> {
  id: string;
  org_id: string;
  name: string;
  type: string;
  firmware_type: string | null;
  firmware_version: string | null;
  tags: T['strings'];
  mode: string;
  state: string;
  location_id: string | null;
  last_seen_at: number | null;
  created_at: number;
  updated_at: number;
}

/** The `devices` row → Device mapper for one dialect's codec. */
export const toDeviceWith =
  <T extends ColumnTypes>(codec: ColumnCodec<T>) =>
  (r: DeviceRow<T>): Device => ({
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    type: r.type,
    firmwareType: r.firmware_type,
    firmwareVersion: r.firmware_version,
    tags: codec.strings(r.tags),
    mode: r.mode as OperatingMode,
    state: r.state as DeviceState,
    locationId: r.location_id,
    lastSeenAt: r.last_seen_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

/** Patchable device fields and their `devices` columns. */
export const DEVICE_COLUMNS = {
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

/** A row of `device_keys`. */
export interface DeviceKeyRow {
  id: string;
  org_id: string;
  device_id: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

/** A `device_keys` row as its record. */
export const toDeviceKey = (r: DeviceKeyRow): DeviceKey => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  secretHash: r.secret_hash,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** A row of `locations`. */
export interface LocationRow {
  id: string;
  org_id: string;
  parent_id: string | null;
  kind: string;
  name: string;
  created_at: number;
}

/** A `locations` row as its record. */
export const toLocation = (r: LocationRow): Location => ({
  id: r.id,
  orgId: r.org_id,
  parentId: r.parent_id,
  kind: r.kind as LocationKind,
  name: r.name,
  createdAt: r.created_at,
});

/** The `devices` column behind each sort key of a device window. */
export const DEVICE_SORT_COLUMNS = {
  name: 'name',
  type: 'type',
  state: 'state',
  firmwareVersion: 'firmware_version',
  lastSeenAt: 'last_seen_at',
  createdAt: 'created_at',
} as const satisfies Record<DeviceSortKey, string>;

/**
 * ORDER BY of a device window in either dialect: empty values last both ways, then the column
 * (text compared bytewise: `collate` is PostgreSQL's `COLLATE "C"`, SQLite's BINARY default),
 * then id, so the order is total and positions are stable.
 */
export function deviceOrderBy(sort: DeviceSortKey, descending: boolean, collate = ''): string {
  const column = DEVICE_SORT_COLUMNS[sort];
  const dir = descending ? 'DESC' : 'ASC';
  const text = sort === 'lastSeenAt' || sort === 'createdAt' ? '' : collate;
  return `(devices.${column} IS NULL), devices.${column}${text} ${dir}, devices.id ${dir}`;
}
