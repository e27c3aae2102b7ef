import type { Actor, FirmwarePolicy, RolloutProgress, RolloutRecord } from '@bulwark/core';
import type { OperationOutput } from '@bulwark/protocol';
import { principalOf, type HandlerContext, type Handlers, type HttpServices } from '../context.js';

type RolloutOps =
  | 'createRollout'
  | 'previewRollout'
  | 'listRollouts'
  | 'getRollout'
  | 'pauseRollout'
  | 'resumeRollout'
  | 'cancelRollout'
  | 'listFirmwarePolicies'
  | 'getFirmwarePolicy'
  | 'setFirmwarePolicy'
  | 'resumeFirmwarePolicy'
  | 'clearFirmwarePolicy';

type RolloutView = OperationOutput<'getRollout'>;
type ProgressView = NonNullable<RolloutView['progress']>;

const iso = (ms: number) => new Date(ms).toISOString();

const progressView = (p: RolloutProgress): ProgressView => ({
  ...p,
  states: p.states,
  phases: p.phases.map((ph) => ({ ...ph })),
  nextEligibleAt: p.nextEligibleAt === null ? null : iso(p.nextEligibleAt),
});

/** A rollout as the API shows it (with its progress when computed). */
export const rolloutView = (r: RolloutRecord, progress?: RolloutProgress): RolloutView => ({
  id: r.id,
  name: r.name,
  artifactId: r.artifactId,
  target: r.target,
  phases: r.phases,
  maxConcurrent: r.maxConcurrent,
  ratePerMinute: r.ratePerMinute,
  failureThreshold: r.failureThreshold,
  window: r.window,
  state: r.state,
  pauseReason: r.pauseReason,
  pauseDetail: r.pauseDetail,
  createdBy: r.createdBy,
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
  ...(progress ? { progress: progressView(progress) } : {}),
});

/** A policy as the API shows it: its limits, state and figures now. */
const policyView = (p: FirmwarePolicy): OperationOutput<'setFirmwarePolicy'> => ({
  type: p.deviceType,
  artifactId: p.artifactId,
  version: p.version,
  setBy: p.setBy,
  setAt: iso(p.setAt),
  maxConcurrent: p.maxConcurrent,
  ratePerMinute: p.ratePerMinute,
  failureThreshold: p.failureThreshold,
  window: p.window,
  state: p.state,
  pauseReason: p.pauseReason,
  pauseDetail: p.pauseDetail,
  progress: {
    ...p.progress,
    nextEligibleAt: p.progress.nextEligibleAt === null ? null : iso(p.progress.nextEligibleAt),
  },
});

/** The caller as the rollout services record it. */
const actorOf = (ctx: HandlerContext): Actor => {
  const p = principalOf(ctx);
  return { type: p.kind, id: p.id, source: ctx.source };
};

/** Rollouts (with live progress) and the auto-upgrade policy (decision 0011). */
export function rolloutHandlers(s: HttpServices): Pick<Handlers, RolloutOps> {
  const withProgress = async (orgId: string, id: string) => {
    const { rollout, progress } = await s.rollouts.get(orgId, id);
    return rolloutView(rollout, progress);
  };
  return {
    createRollout: async ({ body }, ctx) => {
      const orgId = principalOf(ctx).orgId;
      const r = await s.rollouts.create(orgId, body, actorOf(ctx));
      ctx.audit.targetId = r.id;
      ctx.audit.detail = { artifactId: r.artifactId, target: r.target };
      return withProgress(orgId, r.id);
    },
    previewRollout: async ({ body }, ctx) => {
      const p = await s.rollouts.preview(principalOf(ctx).orgId, body);
      ctx.audit.detail = { artifactId: body.artifactId, target: body.target, total: p.total };
      return {
        total: p.total,
        current: p.current,
        toUpdate: p.toUpdate,
        phases: p.phases,
        windowOpen: p.windowOpen,
        nextWindowAt: p.nextWindowAt === null ? null : iso(p.nextWindowAt),
        devices: p.devices.map((d) => ({
          id: d.id,
          name: d.name,
          type: d.type,
          firmwareVersion: d.firmwareVersion,
          current: p.currentIds.has(d.id),
        })),
        truncated: p.total > p.devices.length,
      };
    },
    listRollouts: async ({ query }, ctx) => {
      const page = await s.rollouts.list(principalOf(ctx).orgId, query ?? {});
      return { items: page.items.map((r) => rolloutView(r)), nextCursor: page.nextCursor };
    },
    getRollout: async ({ params }, ctx) => withProgress(principalOf(ctx).orgId, params.id),
    pauseRollout: async ({ params, body }, ctx) => {
      const orgId = principalOf(ctx).orgId;
      await s.rollouts.pause(orgId, params.id, actorOf(ctx), body.reason);
      return withProgress(orgId, params.id);
    },
    resumeRollout: async ({ params }, ctx) => {
      const orgId = principalOf(ctx).orgId;
      await s.rollouts.resume(orgId, params.id);
      return withProgress(orgId, params.id);
    },
    cancelRollout: async ({ params }, ctx) => {
      const orgId = principalOf(ctx).orgId;
      await s.rollouts.cancel(orgId, params.id, actorOf(ctx));
      return withProgress(orgId, params.id);
    },
    listFirmwarePolicies: async (_input, ctx) => ({
      items: (await s.firmwarePolicies.list(principalOf(ctx).orgId)).map(policyView),
    }),
    getFirmwarePolicy: async ({ params }, ctx) =>
      policyView(await s.firmwarePolicies.get(principalOf(ctx).orgId, params.type)),
    setFirmwarePolicy: async ({ params, body }, ctx) => {
      const p = await s.firmwarePolicies.set(
        principalOf(ctx).orgId,
        params.type,
        body,
        actorOf(ctx),
      );
      ctx.audit.detail = {
        type: p.deviceType,
        artifactId: p.artifactId,
        maxConcurrent: p.maxConcurrent,
        ratePerMinute: p.ratePerMinute,
        failureThreshold: p.failureThreshold,
        window: p.window,
      };
      return policyView(p);
    },
    resumeFirmwarePolicy: async ({ params }, ctx) => {
      const p = await s.firmwarePolicies.resume(principalOf(ctx).orgId, params.type);
      ctx.audit.detail = { type: p.deviceType, artifactId: p.artifactId };
      return policyView(p);
    },
    clearFirmwarePolicy: async ({ params }, ctx) => {
      await s.firmwarePolicies.clear(principalOf(ctx).orgId, params.type);
      ctx.audit.detail = { type: params.type };
    },
  };
}
