/**
 * `bulwark connect DEVICE` on the hub (decision 0042): issues the one-time ticket the operator
 * presents inside the end-to-end TLS session, creates the relay session, and asks the device,
 * over its device plane, to dial the relay out to the hub.
 */
import { BulwarkError, isTunnelTarget, type TunnelOffer } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { TicketPerm } from '../ports/tickets.js';
import type { Principal } from '../identity/principal.js';
import type { TicketService } from '../tickets/ticket-service.js';
import type { RelayLeg, TunnelRelay } from './tunnel-relay.js';

/** What the operator asks for. */
export interface OpenTunnelRequest {
  target: string;
  perm?: TicketPerm;
  maxSeconds?: number;
  maxBytes?: number;
}

/** A tunnel ready for its operator leg. */
export interface OpenedTunnel {
  sessionId: string;
  /** The operator leg's pairing secret (shown once). */
  secret: string;
  relayPath: string;
  ticket: string;
  jti: string;
  deviceId: string;
  target: string;
  perm: TicketPerm;
  /** SHA-256 fingerprints (hex) of the device's live certificates: what the CLI pins. */
  pins: string[];
  pairBy: number;
  maxSeconds: number;
  maxBytes: number;
}

/** Sends the offer to the device's session on this node; false when it has none that takes it. */
export type TunnelOfferSink = (orgId: string, deviceId: string, offer: TunnelOffer) => boolean;

/** The path a leg dials on the hub's HTTPS origin. */
export const relayPath = (sessionId: string) => `/api/v1/relay/${sessionId}`;

/** Opens remote-access tunnels. */
export class TunnelService {
  constructor(
    private readonly d: {
      clock: Clock;
      storage: Pick<Storage, 'pki'>;
      tickets: Pick<TicketService, 'issue'>;
      relay: TunnelRelay<RelayLeg>;
      /** Late-bound: the device plane exists once the brokers run. */
      offer: TunnelOfferSink;
    },
  ) {}

  /** The relay of this node. */
  get relay(): TunnelRelay<RelayLeg> {
    return this.d.relay;
  }

  async open(p: Principal, deviceId: string, req: OpenTunnelRequest): Promise<OpenedTunnel> {
    if (p.kind === 'device') throw new BulwarkError('forbidden', 'devices cannot open tunnels');
    if (!isTunnelTarget(req.target))
      throw new BulwarkError('validation_failed', 'target must be local, serial or tcp:1-65535', {
        extra: { field: 'target' },
      });
    const perm = req.perm ?? 'operate';
    if (req.target !== 'local' && perm === 'read')
      throw new BulwarkError(
        'validation_failed',
        `a ${req.target} tunnel carries raw bytes: it needs perm operate or admin`,
        { extra: { field: 'perm' } },
      );
    const limits = this.d.relay.limits;
    const maxSeconds = req.maxSeconds ?? limits.defaultMaxSeconds;
    const maxBytes = req.maxBytes ?? limits.defaultMaxBytes;
    // The ticket checks the caller's permissions and that the device is active; its lifetime is
    // the shortest a ticket has: it is presented seconds after pairing, or never.
    const { ticket, record } = await this.d.tickets.issue(p, deviceId, {
      perm,
      ttlSeconds: 60,
      target: req.target,
    });
    const now = this.d.clock.now();
    const pins = (await this.d.storage.pki.listCertificates(p.orgId, deviceId))
      .filter((c) => c.revokedAt === null && c.notAfter > now && (c.retireAt ?? Infinity) > now)
      .map((c) => c.fingerprint);
    if (pins.length === 0)
      throw new BulwarkError('conflict', 'the device has no live certificate to pin');
    const created = this.d.relay.create({
      orgId: p.orgId,
      deviceId,
      jti: record.jti,
      principalId: p.id,
      principalType: p.kind,
      target: req.target,
      maxSeconds,
      maxBytes,
    });
    const offered = this.d.offer(p.orgId, deviceId, {
      id: created.id,
      secret: created.deviceSecret,
      path: relayPath(created.id),
      target: req.target,
      expiresAt: new Date(created.pairBy).toISOString(),
    });
    if (!offered) {
      this.d.relay.close(created.id, 'offer_failed');
      throw new BulwarkError(
        'device_not_connected',
        'the device is not connected to this hub node (or its agent does not take tunnels); try again when it is online',
      );
    }
    return {
      sessionId: created.id,
      secret: created.operatorSecret,
      relayPath: relayPath(created.id),
      ticket,
      jti: record.jti,
      deviceId,
      target: req.target,
      perm,
      pins,
      pairBy: created.pairBy,
      maxSeconds,
      maxBytes,
    };
  }
}
