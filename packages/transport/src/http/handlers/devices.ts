import { hasPermission } from '@bulwark/core';
import { BulwarkError } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { deviceView, locationView } from '../views.js';

type DeviceHandlers = Pick<
  Handlers,
  | 'listDevices'
  | 'createDevice'
  | 'getDevice'
  | 'updateDevice'
  | 'decommissionDevice'
  | 'listLocations'
  | 'createLocation'
  | 'getLocation'
  | 'updateLocation'
  | 'deleteLocation'
>;

/** The device registry and the location tree. */
export function deviceHandlers(s: HttpServices): DeviceHandlers {
  return {
    listDevices: async ({ query }, ctx) => {
      const page = await s.devices.list(principalOf(ctx).orgId, query ?? {});
      return {
        items: page.items.map((d) =>
          d.online === undefined ? deviceView(d) : { ...deviceView(d), online: d.online },
        ),
        nextCursor: page.nextCursor,
        ...(page.total !== undefined ? { total: page.total } : {}),
      };
    },
    createDevice: async ({ body }, ctx) => {
      ctx.audit.detail = { name: body.name, type: body.type };
      const d = await s.devices.create(principalOf(ctx).orgId, body);
      ctx.audit.targetId = d.id;
      return deviceView(d);
    },
    getDevice: async ({ params }, ctx) =>
      deviceView(await s.devices.get(principalOf(ctx).orgId, params.id)),
    updateDevice: async ({ params, body }, ctx) => {
      ctx.audit.detail = { ...body };
      // Allowed by a scoped grant (decision 0046): quarantine and release only. Name, tags and
      // location decide which groups a device is in, so they stay organization-wide.
      const p = principalOf(ctx);
      if (
        !hasPermission(p.permissions, 'devices:manage') &&
        Object.keys(body).some((k) => k !== 'state')
      )
        throw new BulwarkError(
          'forbidden',
          "a scoped grant of 'devices:manage' changes only a device's state (quarantine, release)",
          { extra: { permission: 'devices:manage' } },
        );
      return deviceView(await s.devices.update(principalOf(ctx).orgId, params.id, body));
    },
    decommissionDevice: async ({ params }, ctx) =>
      deviceView(await s.pki.decommission(principalOf(ctx).orgId, params.id)),
    listLocations: async (_i, ctx) =>
      (await s.locations.list(principalOf(ctx).orgId)).map(locationView),
    createLocation: async ({ body }, ctx) => {
      ctx.audit.detail = { ...body };
      const l = await s.locations.create(principalOf(ctx).orgId, body);
      ctx.audit.targetId = l.id;
      return locationView(l);
    },
    getLocation: async ({ params }, ctx) =>
      locationView(await s.locations.get(principalOf(ctx).orgId, params.id)),
    updateLocation: async ({ params, body }, ctx) => {
      ctx.audit.detail = { ...body };
      return locationView(await s.locations.update(principalOf(ctx).orgId, params.id, body));
    },
    deleteLocation: async ({ params }, ctx) =>
      s.locations.delete(principalOf(ctx).orgId, params.id),
  };
}
