import type { SavedView } from '@bulwark/core';
import type { SavedViewView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type ViewHandlers = Pick<Handlers, 'listSavedViews' | 'saveView' | 'deleteSavedView'>;

const view = (v: SavedView): SavedViewView => ({
  id: v.id,
  name: v.name,
  query: v.query,
  createdAt: new Date(v.createdAt).toISOString(),
  updatedAt: new Date(v.updatedAt).toISOString(),
});

/** Saved fleet views: each principal's own (owner = the user or API key calling). */
export function viewHandlers(s: HttpServices): ViewHandlers {
  return {
    listSavedViews: async (_i, ctx) => {
      const p = principalOf(ctx);
      return (await s.savedViews.list(p.orgId, p.id)).map(view);
    },
    saveView: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.detail = { name: body.name };
      const v = await s.savedViews.save(p.orgId, p.id, body);
      ctx.audit.targetId = v.id;
      return view(v);
    },
    deleteSavedView: async ({ params }, ctx) => {
      const p = principalOf(ctx);
      await s.savedViews.delete(p.orgId, p.id, params.id);
    },
  };
}
