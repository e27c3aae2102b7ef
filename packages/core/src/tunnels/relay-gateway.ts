/**
 * A device leg carried by the device's gateway (decision 0042, "Through a gateway"). A site device
 * has no route to the hub: it dials the relay on its gateway's LAN server, which admits it by its
 * certificate and forwards the leg over its own mutual-TLS connection, naming the device and the
 * serial of the certificate it admitted. The hub takes that leg as the device's only when the
 * gateway may speak for the device — the rule the uplink uses (`GatewaySites.member`: same
 * organization, in the gateway's site or tagged for it) — the device is active, and the serial is
 * a live certificate of that device. Everything else is `relay_refused` (or
 * `device_quarantined`) and audited under the gateway.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { GatewaySites } from '../gateway/gateway-sites.js';
import type { RelayJoiner, RelayVia, TunnelRelay } from './tunnel-relay.js';

/** What the gateway claims about the leg it carries (headers of its upgrade request). */
export interface GatewayLegClaim {
  session: string;
  deviceId: string;
  serial: string;
}

/** The gateway as its own certificate authenticated it. */
export interface GatewayLegDialer {
  orgId: string;
  gatewayId: string;
  serial: string | null;
  source: string;
}

/** A leg a gateway carried (or claimed to) that was refused. */
export interface RefusedGatewayLeg {
  orgId: string;
  deviceId: string;
  source: string;
  via?: RelayVia;
}

/** Audits a refused gateway leg: `tunnel.refused` in the dialer's organization, actor the dialer. */
export function auditGatewayRefusal(
  d: { audit: AuditService; log?: { warn(obj: object, msg: string): void } },
  who: RefusedGatewayLeg,
  session: string,
  reason: string,
): void {
  d.audit
    .record({
      orgId: who.orgId,
      actorType: 'device',
      actorId: who.via?.gatewayId ?? who.deviceId,
      action: 'tunnel.refused',
      targetType: 'device',
      targetId: who.deviceId,
      source: who.source,
      result: 'failure',
      detail: { session, reason, via: who.via?.gatewayId ?? null },
    })
    .catch((err: unknown) => d.log?.warn({ err, session }, 'audit of a relay refusal failed'));
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SERIAL = /^[0-9a-f]{1,64}$/;

/** Admits device legs carried by gateways. */
export class RelayGatewayLegs {
  constructor(
    private readonly d: {
      sites: Pick<GatewaySites, 'gateway' | 'member'>;
      storage: Pick<Storage, 'pki' | 'devices'>;
      clock: Clock;
      relay: Pick<TunnelRelay, 'refusedGatewayLeg'>;
    },
  ) {}

  /**
   * The joiner for a leg gateway `gw` carries for `claim.deviceId`, or a refusal (audited). The
   * session's own checks (its device, its secret) follow in `TunnelRelay.join`.
   */
  async joiner(
    gw: GatewayLegDialer,
    claim: GatewayLegClaim,
  ): Promise<Extract<RelayJoiner, { leg: 'device' }>> {
    const via = { gatewayId: gw.gatewayId, serial: gw.serial };
    const who = { orgId: gw.orgId, deviceId: claim.deviceId, source: gw.source, via };
    const refuse = (code: 'relay_refused' | 'device_quarantined', message: string) => {
      this.d.relay.refusedGatewayLeg(who, claim.session, message);
      return new BulwarkError(code, message);
    };
    if (!ID.test(claim.deviceId) || !SERIAL.test(claim.serial))
      throw refuse('relay_refused', 'the gateway named no valid device and serial');
    let gateway;
    try {
      gateway = await this.d.sites.gateway(gw.orgId, gw.gatewayId);
    } catch (err) {
      throw refuse(
        'relay_refused',
        `only a gateway carries legs for others: ${(err as Error).message}`,
      );
    }
    // Same organization (the lookup is scoped by the gateway's), in its site or tagged for it.
    const member = await this.d.sites.member(gateway, claim.deviceId);
    if (member === null)
      throw refuse('relay_refused', 'the gateway does not speak for that device');
    // Membership is cached for seconds; the state is read now (a quarantine takes effect at once).
    const x = await this.d.storage.devices.get(gw.orgId, member.id);
    if (x?.state !== 'active')
      throw refuse('device_quarantined', `the device is ${x?.state ?? 'gone'}`);
    const now = this.d.clock.now();
    const cert = await this.d.storage.pki.getCertificate(gw.orgId, claim.serial);
    if (
      !cert ||
      cert.deviceId !== x.id ||
      cert.revokedAt !== null ||
      cert.notAfter <= now ||
      (cert.retireAt !== null && cert.retireAt <= now)
    )
      throw refuse('relay_refused', 'the serial is no live certificate of that device');
    return {
      leg: 'device',
      orgId: gw.orgId,
      deviceId: x.id,
      serial: cert.serial,
      source: gw.source,
      via,
    };
  }
}
