import {
  Lwm2mOperations,
  type Actor,
  type CommandRecord,
  type DeviceEventRecord,
  type DevicePresence,
  type Twin,
} from '@bulwark/core';
import type { CommandView, DeviceEventView, PresenceView, TwinView } from '@bulwark/protocol';
import type { HandlerContext, Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type ManagementHandlers = Pick<
  Handlers,
  | 'getTwin'
  | 'patchDesired'
  | 'sendCommand'
  | 'listCommands'
  | 'getCommand'
  | 'cancelCommand'
  | 'getPresence'
  | 'listDeviceEvents'
  | 'bulkPatchDesired'
  | 'bulkSendCommand'
>;

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** Twin record → API view. */
export const twinView = (t: Twin): TwinView => ({
  deviceId: t.deviceId,
  desired: {
    version: t.desired.version,
    state: t.desired.state,
    updatedAt: isoOrNull(t.desired.updatedAt),
  },
  reported: t.reported && {
    version: t.reported.version,
    desiredVersion: t.reported.desiredVersion,
    state: t.reported.state,
    errors: t.reported.errors,
    updatedAt: iso(t.reported.updatedAt),
  },
  delta: t.delta,
  inSync: t.inSync,
});

/** Command record → API view. */
export const commandView = (c: CommandRecord): CommandView => ({
  id: c.id,
  deviceId: c.deviceId,
  name: c.name,
  params: c.params,
  state: c.state,
  deadline: iso(c.deadline),
  createdAt: iso(c.createdAt),
  updatedAt: iso(c.updatedAt),
  result: c.result,
  error: c.error,
  history: c.history.map((h) => ({
    state: h.state,
    at: iso(h.at),
    ...(h.reason !== undefined ? { reason: h.reason } : {}),
  })),
});

const presenceView = (p: DevicePresence): PresenceView => ({
  deviceId: p.deviceId,
  online: p.online,
  mode: p.mode,
  since: isoOrNull(p.since),
  lastSeenAt: isoOrNull(p.lastSeenAt),
  metrics: p.metrics,
});

const eventView = (e: DeviceEventRecord): DeviceEventView => ({
  id: e.id,
  deviceId: e.deviceId,
  kind: e.kind,
  severity: e.severity,
  at: iso(e.at),
  receivedAt: iso(e.receivedAt),
  detail: e.detail,
});

/** The caller as the management services record it. */
export const actorOf = (ctx: HandlerContext): Actor => {
  const p = principalOf(ctx);
  return { type: p.kind, id: p.id, source: ctx.source };
};

/** Device management: twin, commands, presence, events, bulk operations. */
export function managementHandlers(s: HttpServices): ManagementHandlers {
  const lwm2mOps = new Lwm2mOperations({ devices: s.devices, commands: s.commands });
  return {
    getTwin: async ({ params }, ctx) =>
      twinView(await s.twins.get(principalOf(ctx).orgId, params.id)),
    patchDesired: async ({ params, body }, ctx) => {
      const t = await s.twins.patchDesired(principalOf(ctx).orgId, params.id, body.patch, {
        ...(body.ifVersion !== undefined ? { ifVersion: body.ifVersion } : {}),
        actor: actorOf(ctx),
      });
      ctx.audit.detail = { version: t.desired.version, changed: t.changed };
      return twinView(t);
    },
    sendCommand: async ({ params, body }, ctx) => {
      ctx.audit.detail = { name: body.name };
      // The LwM2M operations' bound per device holds at this door too (decision 0043).
      if (body.name.startsWith('lwm2m.'))
        await lwm2mOps.checkRoom(principalOf(ctx).orgId, params.id);
      const c = await s.commands.send(principalOf(ctx).orgId, params.id, body, actorOf(ctx));
      ctx.audit.detail = { name: body.name, commandId: c.id };
      return commandView(c);
    },
    listCommands: async ({ params, query }, ctx) => {
      const page = await s.commands.list(principalOf(ctx).orgId, params.id, query ?? {});
      return { items: page.items.map(commandView), nextCursor: page.nextCursor };
    },
    getCommand: async ({ params }, ctx) =>
      commandView(await s.commands.get(principalOf(ctx).orgId, params.id)),
    cancelCommand: async ({ params }, ctx) =>
      commandView(await s.commands.cancel(principalOf(ctx).orgId, params.id, actorOf(ctx))),
    getPresence: async ({ params }, ctx) =>
      presenceView(await s.presence.get(principalOf(ctx).orgId, params.id)),
    listDeviceEvents: async ({ params, query }, ctx) => {
      const page = await s.presence.listEvents(principalOf(ctx).orgId, params.id, query ?? {});
      return { items: page.items.map(eventView), nextCursor: page.nextCursor };
    },
    bulkPatchDesired: async ({ body }, ctx) => {
      ctx.audit.detail = { filter: body.filter };
      const r = await s.twins.bulkPatchDesired(
        principalOf(ctx).orgId,
        body.filter,
        body.patch,
        actorOf(ctx),
      );
      ctx.audit.detail = { filter: body.filter, ...r };
      return r;
    },
    bulkSendCommand: async ({ body }, ctx) => {
      const { filter, ...req } = body;
      ctx.audit.detail = { filter, name: req.name };
      const r = await s.commands.bulkSend(principalOf(ctx).orgId, filter, req, actorOf(ctx));
      ctx.audit.detail = { filter, name: req.name, matched: r.matched };
      return r;
    },
  };
}
