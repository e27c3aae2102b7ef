import type { Actor, UpdateJobRecord } from '@bulwark/core';
import type { UpdateJobView } from '@bulwark/protocol';
import type { HandlerContext, Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';

type UpdateHandlers = Pick<
  Handlers,
  'deployUpdate' | 'listUpdateJobs' | 'getUpdateJob' | 'cancelUpdateJob'
>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Update job record → API view. */
export const updateJobView = (j: UpdateJobRecord): UpdateJobView => ({
  id: j.id,
  actionId: j.actionId,
  deviceId: j.deviceId,
  artifactId: j.artifactId,
  rolloutId: j.rolloutId,
  origin: j.origin,
  state: j.state,
  progress: j.progress,
  reason: j.reason,
  message: j.message,
  delta: j.delta,
  history: j.history.map((h) => ({
    state: h.state,
    at: iso(h.at),
    ...(h.reason !== undefined ? { reason: h.reason } : {}),
    ...(h.message !== undefined ? { message: h.message } : {}),
    ...(h.by !== undefined ? { by: h.by } : {}),
    ...(h.event !== undefined ? { event: h.event } : {}),
    ...(h.dropped !== undefined ? { dropped: h.dropped } : {}),
  })),
  cancelRequested: j.cancelRequested && {
    by: j.cancelRequested.by,
    at: iso(j.cancelRequested.at),
  },
  createdBy: j.createdBy,
  createdAt: iso(j.createdAt),
  updatedAt: iso(j.updatedAt),
  deadline: iso(j.deadline),
});

const actorOf = (ctx: HandlerContext): Actor => {
  const p = principalOf(ctx);
  return { type: p.kind, id: p.id, source: ctx.source };
};

/** Firmware update jobs (decision 0008): deploy, list, get, cancel. */
export function updateHandlers(s: HttpServices): UpdateHandlers {
  return {
    deployUpdate: async ({ params, body }, ctx) => {
      ctx.audit.detail = { artifactId: body.artifactId };
      const j = await s.updates.deploy(principalOf(ctx).orgId, params.id, body.artifactId, {
        actor: actorOf(ctx),
        ...(body.timeoutSeconds !== undefined ? { timeoutSeconds: body.timeoutSeconds } : {}),
      });
      ctx.audit.detail = { artifactId: body.artifactId, jobId: j.id, actionId: j.actionId };
      return updateJobView(j);
    },
    listUpdateJobs: async ({ query }, ctx) => {
      const q = query ?? {};
      const page = await s.updates.list(principalOf(ctx).orgId, {
        ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : {}),
        ...(q.rolloutId !== undefined ? { rolloutId: q.rolloutId } : {}),
        ...(q.artifactId !== undefined ? { artifactId: q.artifactId } : {}),
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      });
      return { items: page.items.map(updateJobView), nextCursor: page.nextCursor };
    },
    getUpdateJob: async ({ params }, ctx) =>
      updateJobView(await s.updates.get(principalOf(ctx).orgId, params.id)),
    cancelUpdateJob: async ({ params, body }, ctx) => {
      if (body.force) ctx.audit.detail = { force: true };
      const j = await s.updates.cancel(principalOf(ctx).orgId, params.id, actorOf(ctx), {
        force: body.force === true,
      });
      ctx.audit.targetId = j.id;
      return updateJobView(j);
    },
  };
}
