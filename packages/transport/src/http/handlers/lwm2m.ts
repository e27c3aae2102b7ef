import { Lwm2mOperations } from '@bulwark/core';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { actorOf, commandView } from './management.js';

type Lwm2mHandlers = Pick<Handlers, 'lwm2mRead' | 'lwm2mOperate'>;

/**
 * The operator's LwM2M operations (decision 0043, 2026-12-07): each becomes a command of the
 * device (the durable queue; held for a device in queue mode until it wakes). Reads need
 * devices:read, the rest devices:manage (the routes say which); another org's device is 404.
 */
export function lwm2mHandlers(s: HttpServices): Lwm2mHandlers {
  const ops = new Lwm2mOperations({ devices: s.devices, commands: s.commands });
  return {
    lwm2mRead: async ({ params, body }, ctx) => {
      ctx.audit.detail = { path: body.path, discover: body.discover === true };
      const c = await ops.read(principalOf(ctx).orgId, params.id, body, actorOf(ctx));
      ctx.audit.detail = { ...ctx.audit.detail, commandId: c.id };
      return commandView(c);
    },
    lwm2mOperate: async ({ params, body }, ctx) => {
      ctx.audit.detail = { operation: body.operation, path: body.path };
      const c = await ops.operate(principalOf(ctx).orgId, params.id, body, actorOf(ctx));
      ctx.audit.detail = { ...ctx.audit.detail, commandId: c.id };
      return commandView(c);
    },
  };
}
