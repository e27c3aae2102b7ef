import {
  contentRange,
  type FirmwareArtifactRecord,
  type FirmwareRootRecord,
  type Principal,
  requirePlane,
} from '@bulwark/core';
import { BulwarkError } from '@bulwark/protocol';
import type { OperationOutput } from '@bulwark/protocol';
import { principalOf, type HandlerContext, type Handlers, type HttpServices } from '../context.js';

type FirmwareOps =
  | 'putFirmwareRoot'
  | 'getFirmwareRoot'
  | 'createArtifact'
  | 'uploadArtifactImage'
  | 'listArtifacts'
  | 'getArtifact'
  | 'deleteArtifact'
  | 'downloadArtifactImage';

type RootView = OperationOutput<'getFirmwareRoot'>;
type ArtifactView = OperationOutput<'getArtifact'>;

const iso = (ms: number) => new Date(ms).toISOString();

const rootView = (r: FirmwareRootRecord): RootView => ({
  version: r.version,
  root: JSON.parse(r.root) as RootView['root'],
  updatedBy: r.updatedBy,
  updatedAt: iso(r.updatedAt),
});

const artifactView = (a: FirmwareArtifactRecord): ArtifactView => ({
  id: a.id,
  name: a.name,
  types: a.types,
  hardware: a.hardware,
  version: a.version,
  releaseCounter: a.releaseCounter,
  length: a.length,
  sha256: a.sha256,
  state: a.state,
  metadata: JSON.parse(a.metadata) as ArtifactView['metadata'],
  createdBy: a.createdBy,
  createdAt: iso(a.createdAt),
});

/** The caller on `principal-or-device` routes: the principal, or the device acting as one. */
function callerOf(ctx: HandlerContext): Principal {
  if (ctx.principal) return ctx.principal;
  if (!ctx.device) throw new BulwarkError('unauthenticated');
  // A device reads firmware for its updates: open to a quarantined one too (policy.ts).
  requirePlane(ctx.device.principal, 'updates');
  const d = ctx.device.device;
  return { kind: 'device', id: d.id, orgId: d.orgId, name: d.name, role: null, permissions: [] };
}

/** The firmware repository (decision 0007). */
export function firmwareHandlers(s: HttpServices): Pick<Handlers, FirmwareOps> {
  return {
    putFirmwareRoot: async ({ body }, ctx) =>
      rootView(await s.firmware.putRoot(principalOf(ctx), body)),
    getFirmwareRoot: async (_input, ctx) => rootView(await s.firmware.getRoot(callerOf(ctx))),
    createArtifact: async ({ body }, ctx) => {
      const a = await s.firmware.createArtifact(principalOf(ctx), body);
      ctx.audit.targetId = a.id;
      return artifactView(a);
    },
    uploadArtifactImage: async ({ params, body }, ctx) =>
      artifactView(await s.firmware.uploadImage(principalOf(ctx), params.id, body)),
    listArtifacts: async ({ query }, ctx) => {
      const limit = query?.limit ?? 50;
      const items = await s.firmware.list(principalOf(ctx), {
        limit,
        ...(query?.cursor ? { before: query.cursor } : {}),
      });
      const last = items.at(-1);
      return {
        items: items.map(artifactView),
        nextCursor: items.length === limit && last ? last.id : null,
      };
    },
    getArtifact: async ({ params }, ctx) =>
      artifactView(await s.firmware.get(callerOf(ctx), params.id)),
    deleteArtifact: async ({ params }, ctx) => {
      await s.firmware.delete(principalOf(ctx), params.id);
    },
    downloadArtifactImage: async ({ params, range }, ctx) => {
      const d = await s.firmware.download(callerOf(ctx), params.id, range);
      const len = d.artifact.length;
      const common = { 'accept-ranges': 'bytes', etag: `"${d.artifact.sha256}"` };
      if (d.kind === 'unsatisfiable') {
        return { status: 416, headers: { ...common, 'content-range': contentRange(len) } };
      }
      const type = { 'content-type': 'application/octet-stream' };
      if (d.kind === 'full') {
        return {
          status: 200,
          headers: { ...common, ...type, 'content-length': String(len) },
          body: d.body,
        };
      }
      const { start, end } = d.range;
      return {
        status: 206,
        headers: {
          ...common,
          ...type,
          'content-range': contentRange(len, d.range),
          'content-length': String(end - start + 1),
        },
        body: d.body,
      };
    },
  };
}
