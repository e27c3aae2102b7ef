import type { ClaimAttempt, ProvisioningClaim } from '@bulwark/core';
import type { ClaimView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { enrollmentView, iso } from '../views.js';

type ProvisioningHandlers = Pick<
  Handlers,
  | 'importDevices'
  | 'createProvisioningClaim'
  | 'listProvisioningClaims'
  | 'getProvisioningClaim'
  | 'revokeProvisioningClaim'
  | 'claimDevice'
>;

/** A claim as the API shows it: never its token or hash; the allowlist by its size. */
export const claimView = (c: ProvisioningClaim): ClaimView => ({
  id: c.id,
  name: c.name,
  template: c.template,
  maxDevices: c.maxDevices,
  usedCount: c.usedCount,
  hardwareIds: c.hardwareIds === null ? null : c.hardwareIds.length,
  hardwarePattern: c.hardwarePattern,
  expiresAt: iso(c.expiresAt),
  revokedAt: c.revokedAt === null ? null : iso(c.revokedAt),
  createdAt: iso(c.createdAt),
});

/** Bulk registration and claim-based provisioning (decision 0027). */
export function provisioningHandlers(s: HttpServices): ProvisioningHandlers {
  return {
    importDevices: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.detail = { rows: body.devices.length, newTypes: body.newTypes ?? [] };
      const out = await s.deviceImport.import(p.orgId, p.kind === 'user' ? p.id : null, body);
      // The tokens are secrets: the audit log names the devices, never their tokens.
      ctx.audit.detail = { ...ctx.audit.detail, created: out.length };
      if (out.length === 1) ctx.audit.targetId = out[0]!.device.id;
      return {
        devices: out.map((o) => ({
          row: o.row,
          id: o.device.id,
          name: o.device.name,
          token: o.token,
          expiresAt: iso(o.expiresAt),
        })),
      };
    },
    createProvisioningClaim: async ({ body }, ctx) => {
      const p = principalOf(ctx);
      ctx.audit.detail = {
        name: body.name,
        type: body.template.type,
        maxDevices: body.maxDevices,
        ttlSeconds: body.ttlSeconds,
        hardwareIds: body.hardwareIds?.length ?? null,
        hardwarePattern: body.hardwarePattern ?? null,
      };
      const r = await s.claims.create(p.orgId, p.kind === 'user' ? p.id : null, body);
      ctx.audit.targetId = r.claim.id;
      return { claim: claimView(r.claim), token: r.token };
    },
    listProvisioningClaims: async (_i, ctx) =>
      (await s.claims.list(principalOf(ctx).orgId)).map(claimView),
    getProvisioningClaim: async ({ params }, ctx) =>
      claimView(await s.claims.get(principalOf(ctx).orgId, params.id)),
    revokeProvisioningClaim: async ({ params }, ctx) =>
      claimView(await s.claims.revoke(principalOf(ctx).orgId, params.id)),
    claimDevice: async ({ body }, ctx) => {
      const seen: ClaimAttempt = {};
      // Every attempt is audited: once the token named a claim, as that claim's holder (its own
      // row, success or failure); before that, as an anonymous failure (sampled, decision 0013).
      const note = () => {
        if (seen.claimId === undefined) return;
        Object.assign(ctx.audit, {
          orgId: seen.orgId,
          actorType: 'claim',
          actorId: seen.claimId,
          targetId: seen.deviceId ?? seen.claimId,
        });
      };
      ctx.audit.detail = { hardwareId: body.hardwareId, ...(body.type ? { type: body.type } : {}) };
      try {
        const e = await s.claims.claim(body, ctx.source, seen);
        note();
        ctx.audit.detail = {
          ...ctx.audit.detail,
          deviceId: e.device.id,
          serial: e.cert.serial,
          outcome: seen.outcome,
          ...(seen.channelErrors ? { channelErrors: seen.channelErrors } : {}),
        };
        return enrollmentView(e);
      } catch (err) {
        note();
        throw err;
      }
    },
  };
}
