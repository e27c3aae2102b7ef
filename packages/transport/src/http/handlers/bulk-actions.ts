import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

/** Bulk actions on a device selection, refused or applied per device (decision 0038 amendment). */
export function bulkActionHandlers(s: HttpServices): Pick<Handlers, 'bulkDeviceActions'> {
  return {
    bulkDeviceActions: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      const r = await s.bulkActions.apply(
        {
          orgId: p.orgId,
          permissions: p.permissions,
          ...(p.scopedGrants ? { scopedGrants: p.scopedGrants } : {}),
          actor: { type: p.kind, id: p.id, source: ctx.source },
        },
        body.deviceIds,
        body.action,
      );
      ctx.audit.detail = {
        action: body.action,
        applied: r.results.filter((x) => x.ok).map((x) => x.deviceId),
        refused: r.results.filter((x) => !x.ok).map((x) => `${x.deviceId}:${x.code}`),
      };
      return r;
    },
  };
}
