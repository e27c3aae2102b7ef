/**
 * The device-management tables (migration 4) behind TwinStore, CommandStore, PresenceStore,
 * DeviceEventStore and AlertStore. The statements are plain SQL that SQLite and PostgreSQL both
 * run (upserts with ON CONFLICT, partial unique index), written with `?` placeholders; each adapter
 * supplies a runner for its driver. JSON values are kept as text, times as epoch-ms integers; the
 * tables are in management-schema.ts, the rows in management-rows.ts.
 */
import type {
  AlertStore,
  CommandRecord,
  NotificationStore,
  CommandStore,
  DeviceEventStore,
  PageRequest,
  PresenceStore,
  TwinStore,
} from '@bulwark/core';
import { encodeIdCursor } from '@bulwark/core';
import {
  groupBy,
  marks,
  toCommand,
  toDesired,
  toEvent,
  toPresence,
  toReported,
  type CommandRow,
  type DesiredRow,
  type EventRow,
  type PresenceRow,
  type ReportedRow,
} from './management-rows.js';
import { createAlertStore } from './alert-store.js';
import { createNotificationStore } from './notification-store.js';
import { newestFirst as newestFirstOf, pageOf } from './page.js';

/** Runs one statement: `all` returns rows, `run` the number of rows changed. `?` placeholders. */
export interface SqlRunner {
  all<R>(sql: string, params: readonly unknown[]): Promise<R[]>;
  run(sql: string, params: readonly unknown[]): Promise<number>;
}

/** The device-management stores (and alerts and notifications) on one runner. */
export interface ManagementStores {
  twins: TwinStore;
  commands: CommandStore;
  presence: PresenceStore;
  deviceEvents: DeviceEventStore;
  alerts: AlertStore;
  notifications: NotificationStore;
}

/** A compare-and-set transition is retried this often when another writer moved the row meanwhile. */
const CAS_ATTEMPTS = 5;

/** Builds the device-management stores on a dialect's runner. */
export function createManagementStores(db: SqlRunner): ManagementStores {
  const one = async <R>(sql: string, params: readonly unknown[]) =>
    (await db.all<R>(sql, params))[0];
  const newestFirst = <R extends { id: string }>(
    table: string,
    equal: Record<string, unknown>,
    page: PageRequest,
  ) => newestFirstOf<R>(db, table, equal, page);

  const twins: TwinStore = {
    async getDesired(orgId, deviceId) {
      const r = await one<DesiredRow>(
        'SELECT * FROM twin_desired WHERE org_id = ? AND device_id = ?',
        [orgId, deviceId],
      );
      return r && toDesired(r);
    },
    async putDesired(next, expectedVersion) {
      const state = JSON.stringify(next.state);
      if (expectedVersion === 0) {
        return (
          (await db.run(
            `INSERT INTO twin_desired (org_id, device_id, version, state, updated_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
            [next.orgId, next.deviceId, next.version, state, next.updatedAt],
          )) === 1
        );
      }
      return (
        (await db.run(
          `UPDATE twin_desired SET version = ?, state = ?, updated_at = ?
           WHERE org_id = ? AND device_id = ? AND version = ?`,
          [next.version, state, next.updatedAt, next.orgId, next.deviceId, expectedVersion],
        )) === 1
      );
    },
    async desiredVersions(orgId, deviceIds) {
      const out = new Map<string, number>();
      for (let i = 0; i < deviceIds.length; i += 500) {
        const ids = deviceIds.slice(i, i + 500);
        const rows = await db.all<{ device_id: string; version: number }>(
          `SELECT device_id, version FROM twin_desired
           WHERE org_id = ? AND device_id IN (${marks(ids.length)})`,
          [orgId, ...ids],
        );
        for (const r of rows) out.set(r.device_id, Number(r.version));
      }
      return out;
    },
    async getReported(orgId, deviceId) {
      const r = await one<ReportedRow>(
        'SELECT * FROM twin_reported WHERE org_id = ? AND device_id = ?',
        [orgId, deviceId],
      );
      return r && toReported(r);
    },
    async putReported(t) {
      // Only a newer report replaces the stored one: a replayed or reordered one changes nothing.
      return (
        (await db.run(
          `INSERT INTO twin_reported
             (org_id, device_id, version, desired_version, state, errors, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET version = excluded.version,
             desired_version = excluded.desired_version, state = excluded.state,
             errors = excluded.errors, updated_at = excluded.updated_at
           WHERE twin_reported.version < excluded.version
             AND twin_reported.org_id = excluded.org_id`,
          [
            t.orgId,
            t.deviceId,
            t.version,
            t.desiredVersion,
            JSON.stringify(t.state),
            JSON.stringify(t.errors),
            t.updatedAt,
          ],
        )) === 1
      );
    },
  };

  const commands: CommandStore = {
    async create(c) {
      await db.run(
        `INSERT INTO device_commands (id, org_id, device_id, name, params, state, deadline,
           created_at, updated_at, result, error, history)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          c.id,
          c.orgId,
          c.deviceId,
          c.name,
          JSON.stringify(c.params),
          c.state,
          c.deadline,
          c.createdAt,
          c.updatedAt,
          c.result === null ? null : JSON.stringify(c.result),
          c.error === null ? null : JSON.stringify(c.error),
          JSON.stringify(c.history),
        ],
      );
    },
    async get(orgId, id) {
      const r = await one<CommandRow>('SELECT * FROM device_commands WHERE org_id = ? AND id = ?', [
        orgId,
        id,
      ]);
      return r && toCommand(r);
    },
    async list(orgId, deviceId, filter, page) {
      const rows = await newestFirst<CommandRow>(
        'device_commands',
        { org_id: orgId, device_id: deviceId, state: filter.state },
        page,
      );
      return pageOf(rows, page.limit, toCommand, (c) => encodeIdCursor(c.id));
    },
    async transition(orgId, id, from, change) {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const cur = await commands.get(orgId, id);
        if (!cur || !from.includes(cur.state)) return undefined;
        const next: CommandRecord = {
          ...cur,
          state: change.to,
          updatedAt: change.at,
          history: [
            ...cur.history,
            {
              state: change.to,
              at: change.at,
              ...(change.reason !== undefined ? { reason: change.reason } : {}),
            },
          ],
          ...(change.result !== undefined ? { result: change.result } : {}),
          ...(change.error !== undefined ? { error: change.error } : {}),
        };
        // Compare-and-set on the state read: states only move forward, so an unchanged state
        // means no other writer got in between.
        const n = await db.run(
          `UPDATE device_commands SET state = ?, updated_at = ?, result = ?, error = ?, history = ?
           WHERE org_id = ? AND id = ? AND state = ?`,
          [
            next.state,
            next.updatedAt,
            next.result === null ? null : JSON.stringify(next.result),
            next.error === null ? null : JSON.stringify(next.error),
            JSON.stringify(next.history),
            orgId,
            id,
            cur.state,
          ],
        );
        if (n === 1) return next;
      }
      return undefined;
    },
    async listQueued(orgId, deviceIds, now, limit) {
      if (deviceIds.length === 0) return [];
      const out: CommandRecord[] = [];
      for (let i = 0; i < deviceIds.length && out.length < limit; i += 500) {
        const ids = deviceIds.slice(i, i + 500);
        const rows = await db.all<CommandRow>(
          `SELECT * FROM device_commands
           WHERE org_id = ? AND device_id IN (${marks(ids.length)}) AND state = 'queued'
             AND deadline > ?
           ORDER BY id LIMIT ?`,
          [orgId, ...ids, now, limit - out.length],
        );
        out.push(...rows.map(toCommand));
      }
      return out;
    },
    async listDue(now, limit) {
      const rows = await db.all<CommandRow>(
        `SELECT * FROM device_commands WHERE state IN ('queued', 'delivered') AND deadline <= ?
         ORDER BY deadline LIMIT ?`,
        [now, limit],
      );
      return rows.map(toCommand);
    },
  };

  const presence: PresenceStore = {
    async get(orgId, deviceId) {
      const r = await one<PresenceRow>(
        'SELECT * FROM device_presence WHERE org_id = ? AND device_id = ?',
        [orgId, deviceId],
      );
      return r && toPresence(r);
    },
    async put(p) {
      await db.run(
        `INSERT INTO device_presence
           (org_id, device_id, online, mode, since, last_seen_at, session_id, metrics)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET online = excluded.online, mode = excluded.mode,
           since = excluded.since, last_seen_at = excluded.last_seen_at,
           session_id = excluded.session_id, metrics = excluded.metrics
         WHERE device_presence.org_id = excluded.org_id`,
        [
          p.orgId,
          p.deviceId,
          p.online ? 1 : 0,
          p.mode,
          p.since,
          p.lastSeenAt,
          p.sessionId,
          p.metrics === null ? null : JSON.stringify(p.metrics),
        ],
      );
    },
    async markOnline(entries, at) {
      // The last entry of a device wins (PostgreSQL refuses one upsert touching a row twice).
      const last = [...new Map(entries.map((e) => [e.deviceId, e])).values()];
      for (let i = 0; i < last.length; i += 400) {
        const rows = last.slice(i, i + 400);
        await db.run(
          `INSERT INTO device_presence
             (org_id, device_id, online, mode, since, last_seen_at, session_id, metrics)
           VALUES ${rows.map(() => '(?, ?, 1, NULL, ?, ?, ?, NULL)').join(', ')}
           ON CONFLICT (device_id) DO UPDATE SET online = 1,
             since = CASE WHEN device_presence.online = 1 THEN device_presence.since
                     ELSE excluded.since END,
             last_seen_at = excluded.last_seen_at, session_id = excluded.session_id
           WHERE device_presence.org_id = excluded.org_id`,
          rows.flatMap((e) => [e.orgId, e.deviceId, at, at, e.sessionId]),
        );
        for (const [orgId, ids] of groupBy(rows, (e) => e.orgId))
          await db.run(
            `UPDATE devices SET last_seen_at = ? WHERE org_id = ? AND id IN (${marks(ids.length)})`,
            [at, orgId, ...ids.map((e) => e.deviceId)],
          );
      }
    },
    async setOffline(orgId, deviceId, sessionId, at) {
      const n = await db.run(
        `UPDATE device_presence SET online = 0, since = ?, last_seen_at = ?
         WHERE org_id = ? AND device_id = ? AND session_id = ? AND online = 1`,
        [at, at, orgId, deviceId, sessionId],
      );
      return n === 1 ? presence.get(orgId, deviceId) : undefined;
    },
    async refresh(orgId, sessionIds, at) {
      let n = 0;
      for (let i = 0; i < sessionIds.length; i += 500) {
        const ids = sessionIds.slice(i, i + 500);
        n += await db.run(
          `UPDATE device_presence SET last_seen_at = ?
           WHERE org_id = ? AND online = 1 AND session_id IN (${marks(ids.length)})`,
          [at, orgId, ...ids],
        );
      }
      return n;
    },
    async listStale(before, limit) {
      const rows = await db.all<PresenceRow>(
        `SELECT * FROM device_presence WHERE online = 1 AND last_seen_at < ?
         ORDER BY last_seen_at LIMIT ?`,
        [before, limit],
      );
      return rows.map(toPresence);
    },
    async touch(orgId, deviceId, patch) {
      const sets = ['last_seen_at = ?'];
      const params: unknown[] = [patch.lastSeenAt];
      if (patch.mode !== undefined) {
        sets.push('mode = ?');
        params.push(patch.mode);
      }
      if (patch.metrics !== undefined) {
        sets.push('metrics = ?');
        params.push(JSON.stringify(patch.metrics));
      }
      return (
        (await db.run(
          `UPDATE device_presence SET ${sets.join(', ')} WHERE org_id = ? AND device_id = ?`,
          [...params, orgId, deviceId],
        )) === 1
      );
    },
  };

  const deviceEvents: DeviceEventStore = {
    async append(events) {
      for (const e of events) {
        await db.run(
          `INSERT INTO device_events (id, org_id, device_id, kind, severity, at, received_at, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            e.id,
            e.orgId,
            e.deviceId,
            e.kind,
            e.severity,
            e.at,
            e.receivedAt,
            JSON.stringify(e.detail),
          ],
        );
      }
    },
    async list(orgId, deviceId, filter, page) {
      const rows = await newestFirst<EventRow>(
        'device_events',
        { org_id: orgId, device_id: deviceId, kind: filter.kind, severity: filter.severity },
        page,
      );
      return pageOf(rows, page.limit, toEvent, (e) => encodeIdCursor(e.id));
    },
    async prune(orgId, deviceId, keep) {
      return db.run(
        `DELETE FROM device_events WHERE org_id = ? AND device_id = ? AND id NOT IN (
           SELECT id FROM device_events WHERE org_id = ? AND device_id = ?
           ORDER BY id DESC LIMIT ?)`,
        [orgId, deviceId, orgId, deviceId, Math.max(0, Math.floor(keep))],
      );
    },
  };

  // Alerts (migration 16) and notifications (migration 17): decision 0030.
  const alerts = createAlertStore(db);
  const notifications = createNotificationStore(db);

  return { twins, commands, presence, deviceEvents, alerts, notifications };
}
