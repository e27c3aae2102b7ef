/**
 * Central device logs (decision 0032): `GET /devices/{id}/logs` and its long-poll follow form.
 * Both need `devices:read`; another organization's device is not found (the service looks the
 * device up in the caller's organization first).
 */
import type { DeviceLogRow } from '@bulwark/core';
import { LOG_LEVELS, type DeviceLogView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type LogHandlers = Pick<Handlers, 'listDeviceLogs' | 'followDeviceLogs'>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Stored record → API view. */
export const deviceLogView = (r: DeviceLogRow): DeviceLogView => ({
  id: r.id,
  deviceId: r.deviceId,
  ts: iso(r.ts),
  receivedAt: iso(r.receivedAt),
  level: LOG_LEVELS[r.priority] ?? 'info',
  source: r.source,
  message: r.message,
  fields: r.fields ?? {},
});

export function logHandlers(s: HttpServices): LogHandlers {
  return {
    listDeviceLogs: async ({ params, query }, ctx) => {
      const page = await s.deviceLogs.list(principalOf(ctx).orgId, params.id, query ?? {});
      return { items: page.items.map(deviceLogView), nextCursor: page.nextCursor };
    },
    followDeviceLogs: async ({ params, query }, ctx) => {
      const r = await s.deviceLogs.follow(principalOf(ctx).orgId, params.id, query ?? {});
      return { items: r.items.map(deviceLogView), last: r.last };
    },
  };
}
