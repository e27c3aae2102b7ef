import { requirePlane } from '@bulwark/core';
import { BulwarkError } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';

/** A gateway's site bundle (decision 0040): for a device of type gateway, its own org only. */
export function gatewayHandlers(s: HttpServices): Pick<Handlers, 'getGatewaySite'> {
  return {
    getGatewaySite: async (_i, ctx) => {
      if (!ctx.device?.cert) throw new BulwarkError('certificate_required');
      requirePlane(ctx.device.principal, 'channels');
      const { orgId, id } = ctx.device.device;
      // Scoped by the certificate's own organization: there is no way to name another one.
      const g = await s.gatewaySites.gateway(orgId, id);
      const [{ siteId, members }, cas, crl] = await Promise.all([
        s.gatewaySites.site(g),
        s.pki.caBundle(orgId),
        s.pki.crl(orgId),
      ]);
      // The rules the gateway evaluates on its site's messages (decision 0040, local operation).
      const rules = await s.gatewayRules.forSite(
        g,
        members.map((m) => m.device),
      );
      ctx.audit.detail = { siteId, devices: members.length, rules: rules.length };
      return {
        orgId,
        gatewayId: id,
        siteId,
        root: cas.root,
        issuing: cas.issuing,
        crl,
        devices: members.map((m) => ({
          id: m.device.id,
          state: m.device.state,
          serials: m.serials,
          channels: m.channels,
        })),
        rules,
        generatedAt: new Date().toISOString(),
      };
    },
  };
}
