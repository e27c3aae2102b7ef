import { windowStatus, type MaintenanceWindowRecord } from '@bulwark/core';
import type { MaintenanceWindowView } from '@bulwark/protocol';
import { principalOf, type HandlerContext, type Handlers, type HttpServices } from '../context.js';

type WindowHandlers = Pick<
  Handlers,
  | 'listMaintenanceWindows'
  | 'createMaintenanceWindow'
  | 'getMaintenanceWindow'
  | 'deleteMaintenanceWindow'
>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Window record → API view, with its status at `now`. */
const windowView = (w: MaintenanceWindowRecord, now: number): MaintenanceWindowView => ({
  id: w.id,
  locationId: w.locationId,
  kinds: w.kinds,
  startsAt: iso(w.startsAt),
  endsAt: iso(w.endsAt),
  reason: w.reason,
  createdBy: w.createdBy,
  createdAt: iso(w.createdAt),
  status: windowStatus(w, now),
});

const org = (ctx: HandlerContext) => principalOf(ctx).orgId;

/** Maintenance windows (decision 0030, amendment). Changes are audited by the app. */
export function maintenanceWindowHandlers(s: HttpServices): WindowHandlers {
  const svc = s.maintenanceWindows;
  return {
    listMaintenanceWindows: async ({ query }, ctx) => {
      const items = await svc.list(org(ctx), { includeEnded: query?.includeEnded === true });
      const now = svc.now();
      return items.map((w) => windowView(w, now));
    },
    createMaintenanceWindow: async ({ body }, ctx) => {
      ctx.audit.detail = { ...body };
      const p = principalOf(ctx);
      const w = await svc.create(
        p.orgId,
        body,
        `${p.kind === 'user' ? 'user' : 'api_key'}:${p.id}`,
      );
      ctx.audit.targetId = w.id;
      return windowView(w, svc.now());
    },
    getMaintenanceWindow: async ({ params }, ctx) =>
      windowView(await svc.get(org(ctx), params.id), svc.now()),
    deleteMaintenanceWindow: async ({ params }, ctx) => {
      const w = await svc.delete(org(ctx), params.id);
      ctx.audit.detail = {
        locationId: w.locationId,
        startsAt: iso(w.startsAt),
        endsAt: iso(w.endsAt),
      };
    },
  };
}
