/**
 * The remote-access relay's rules (decision 0042), without sockets: relay sessions waiting for
 * their two legs, pairing (which leg may join which session), the limits of an open session and
 * why it closes. The transport owns the sockets and copies bytes between the legs; it tells the
 * relay how many crossed, and the relay tells it when to close both.
 *
 * A session is bound to organization + device + ticket at creation. The operator leg must be the
 * principal that asked for it, the device leg the device itself (its certificate, through the one
 * admission rule) or its gateway speaking for it (relay-gateway.ts), each with its own single-use
 * secret. Everything that can be asked for is
 * bounded: pending and open sessions per node, per organization and per device, wrong secrets per
 * session, the time a session may wait for its legs.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { auditGatewayRefusal, type RefusedGatewayLeg } from './relay-gateway.js';

/** The limits of the relay; each bounds what a client can make a hub node hold. */
export interface TunnelRelayLimits {
  /** A session whose legs have not both joined by then is dropped (the device dials within seconds). */
  pairTimeoutMs: number;
  /** Sessions (pending and open) on one node: a flood of requests cannot exhaust it. */
  maxSessions: number;
  /** Per organization: one tenant cannot take every slot. */
  maxPerOrg: number;
  /** Per device: a device runs few sessions (its local port allows 4). */
  maxPerDevice: number;
  /** Wrong secrets for one session before it is dropped: a guesser gets three tries, not 2^256. */
  maxSecretFailures: number;
  /** How often open sessions are checked against the ticket, the device and its certificate. */
  watchMs: number;
  /** Defaults of a session's limits when the request names none. */
  defaultMaxSeconds: number;
  defaultMaxBytes: number;
}

export const DEFAULT_TUNNEL_RELAY_LIMITS: TunnelRelayLimits = {
  pairTimeoutMs: 30_000,
  maxSessions: 256,
  maxPerOrg: 32,
  maxPerDevice: 4,
  maxSecretFailures: 3,
  watchMs: 1000,
  defaultMaxSeconds: 3600,
  defaultMaxBytes: 1024 ** 3,
};

/** One leg's connection as the relay sees it: it can only be closed. */
export interface RelayLeg {
  close(reason: string): void;
}

/** The gateway that carries a device leg for a site device (relay-gateway.ts admitted it). */
export interface RelayVia {
  gatewayId: string;
  /** The serial of the certificate the gateway dialed with. */
  serial: string | null;
}

/** Who dials a leg, as authenticated by the transport. */
export type RelayJoiner =
  | { leg: 'operator'; orgId: string; principalId: string; source: string }
  | {
      leg: 'device';
      orgId: string;
      deviceId: string;
      /** The device's certificate (the one the gateway admitted, for a leg through a gateway). */
      serial: string | null;
      source: string;
      /** Present when the leg comes through the device's gateway (decision 0042). */
      via?: RelayVia;
    };

/** What a new session is bound to and limited by. */
export interface RelaySessionSpec {
  orgId: string;
  deviceId: string;
  jti: string;
  principalId: string;
  principalType: 'user' | 'api_key';
  target: string;
  maxSeconds: number;
  maxBytes: number;
}

/** A session as created: its id and the two secrets (each shown once, only their hashes kept). */
export interface CreatedRelaySession {
  id: string;
  operatorSecret: string;
  deviceSecret: string;
  pairBy: number;
}

/** Why a session ended (audited). */
export type RelayCloseReason =
  | 'operator_closed'
  | 'device_closed'
  | 'max_duration'
  | 'max_bytes'
  | 'ticket_revoked'
  | 'ticket_expired_unpaired'
  | 'device_state'
  | 'certificate_revoked'
  | 'not_paired'
  | 'secret_failures'
  | 'offer_failed'
  | 'hub_stopping';

interface Session<L extends RelayLeg> extends RelaySessionSpec {
  id: string;
  secrets: { operator: Buffer; device: Buffer };
  createdAt: number;
  pairBy: number;
  failures: number;
  operator: L | undefined;
  device: L | undefined;
  deviceSerial: string | null;
  via: RelayVia | undefined;
  openedAt: number | undefined;
  bytes: { toDevice: number; toOperator: number };
  state: 'pending' | 'open' | 'closed';
  timer: NodeJS.Timeout | undefined;
}

/** Both legs joined: the transport copies bytes between them and reports them with `count`. */
export interface PairedSession<L extends RelayLeg> {
  id: string;
  operator: L;
  device: L;
}

/** The result of a join: wait for the other leg, or both are here. */
export type JoinResult<L extends RelayLeg> =
  { paired: false; id: string } | { paired: true; session: PairedSession<L> };

const hash = (s: string) => createHash('sha256').update(s).digest();
const refused = (message: string) => new BulwarkError('relay_refused', message);

/** The relay sessions of one hub node. */
export class TunnelRelay<L extends RelayLeg = RelayLeg> {
  readonly #sessions = new Map<string, Session<L>>();
  readonly #limits: TunnelRelayLimits;
  #watch: NodeJS.Timeout | undefined;
  #watching = false;

  constructor(
    private readonly d: {
      clock: Clock;
      audit: AuditService;
      storage: Pick<Storage, 'tickets' | 'devices' | 'pki'>;
      limits?: Partial<TunnelRelayLimits>;
      /** Told of failures the relay survives (a pino logger fits). */
      log?: { warn(obj: object, msg: string): void };
    },
  ) {
    this.#limits = { ...DEFAULT_TUNNEL_RELAY_LIMITS, ...d.limits };
  }

  get limits(): Readonly<TunnelRelayLimits> {
    return this.#limits;
  }

  /** Sessions on this node, pending and open. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Creates a pending session, or refuses with `relay_busy` when a bound is reached. */
  create(spec: RelaySessionSpec): CreatedRelaySession {
    const all = [...this.#sessions.values()];
    const l = this.#limits;
    if (all.length >= l.maxSessions)
      throw new BulwarkError('relay_busy', `this hub node holds ${all.length} remote sessions`);
    if (all.filter((s) => s.orgId === spec.orgId).length >= l.maxPerOrg)
      throw new BulwarkError(
        'relay_busy',
        `the organization has ${l.maxPerOrg} remote sessions open or pending`,
      );
    if (all.filter((s) => s.deviceId === spec.deviceId).length >= l.maxPerDevice)
      throw new BulwarkError(
        'relay_busy',
        `the device has ${l.maxPerDevice} remote sessions open or pending`,
      );
    const now = this.d.clock.now();
    const operatorSecret = randomBytes(32).toString('base64url');
    const deviceSecret = randomBytes(32).toString('base64url');
    const s: Session<L> = {
      ...spec,
      id: newId(now),
      secrets: { operator: hash(operatorSecret), device: hash(deviceSecret) },
      createdAt: now,
      pairBy: now + l.pairTimeoutMs,
      failures: 0,
      operator: undefined,
      device: undefined,
      deviceSerial: null,
      via: undefined,
      openedAt: undefined,
      bytes: { toDevice: 0, toOperator: 0 },
      state: 'pending',
      timer: undefined,
    };
    s.timer = setTimeout(() => this.close(s.id, 'not_paired'), l.pairTimeoutMs);
    s.timer.unref();
    this.#sessions.set(s.id, s);
    this.#startWatch();
    return { id: s.id, operatorSecret, deviceSecret, pairBy: s.pairBy };
  }

  /**
   * A leg joins its session. Refused (`relay_refused`, nothing changed but a failure count) when
   * the session is unknown or over, the leg already joined, the joiner is not the session's
   * principal or device, or the secret is wrong; the session is dropped after too many wrong
   * secrets. The organization and identity are compared before the secret, so another tenant's
   * leg learns nothing from the secret check.
   */
  join(id: string, secret: string, who: RelayJoiner, conn: L): JoinResult<L> {
    try {
      return this.#join(id, secret, who, conn);
    } catch (err) {
      // A gateway speaking for a device is audited when refused (its org's log, actor the gateway).
      if (who.leg === 'device' && who.via) this.refusedGatewayLeg(who, id, (err as Error).message);
      throw err;
    }
  }

  /** Audits a refused gateway leg (`tunnel.refused`, actor the gateway, target the device). */
  refusedGatewayLeg(who: RefusedGatewayLeg, session: string, reason: string): void {
    auditGatewayRefusal(this.d, who, session, reason);
  }

  #join(id: string, secret: string, who: RelayJoiner, conn: L): JoinResult<L> {
    const s = this.#sessions.get(id);
    if (!s || s.state !== 'pending') throw refused('no such pending relay session');
    if (s.orgId !== who.orgId) throw refused('no such pending relay session');
    if (who.leg === 'operator' && who.principalId !== s.principalId)
      throw refused('the session belongs to another principal');
    if (who.leg === 'device' && who.deviceId !== s.deviceId)
      throw refused('the session is for another device');
    if (s[who.leg] !== undefined) throw refused(`the ${who.leg} leg has already joined`);
    const expected = s.secrets[who.leg];
    if (!timingSafeEqual(hash(secret), expected)) {
      s.failures++;
      if (s.failures >= this.#limits.maxSecretFailures) this.close(s.id, 'secret_failures');
      throw refused('wrong relay secret');
    }
    s[who.leg] = conn;
    if (who.leg === 'device') {
      s.deviceSerial = who.serial;
      s.via = who.via;
    }
    if (s.operator === undefined || s.device === undefined) return { paired: false, id };
    s.state = 'open';
    s.openedAt = this.d.clock.now();
    clearTimeout(s.timer);
    s.timer = setTimeout(() => this.close(s.id, 'max_duration'), s.maxSeconds * 1000);
    s.timer.unref();
    this.#audit(s, 'tunnel.opened', 'success', {
      target: s.target,
      source: who.source,
      ...(s.via ? { via: s.via.gatewayId } : {}),
    });
    return { paired: true, session: { id, operator: s.operator, device: s.device } };
  }

  /**
   * Bytes crossed the relay towards `to`. Over the session's byte limit both legs are closed;
   * returns false then (stop copying).
   */
  count(id: string, to: 'device' | 'operator', n: number): boolean {
    const s = this.#sessions.get(id);
    if (!s || s.state === 'closed') return false;
    if (to === 'device') s.bytes.toDevice += n;
    else s.bytes.toOperator += n;
    if (s.bytes.toDevice + s.bytes.toOperator > s.maxBytes) {
      this.close(id, 'max_bytes');
      return false;
    }
    return true;
  }

  /** Closes a session's legs (idempotent) and audits how it ended. */
  close(id: string, reason: RelayCloseReason): void {
    const s = this.#sessions.get(id);
    if (!s || s.state === 'closed') return;
    const wasOpen = s.state === 'open';
    s.state = 'closed';
    clearTimeout(s.timer);
    this.#sessions.delete(id);
    s.operator?.close(reason);
    s.device?.close(reason);
    const now = this.d.clock.now();
    this.#audit(s, 'tunnel.closed', wasOpen ? 'success' : 'failure', {
      reason,
      opened: wasOpen,
      bytesToDevice: s.bytes.toDevice,
      bytesToOperator: s.bytes.toOperator,
      durationMs: wasOpen && s.openedAt !== undefined ? now - s.openedAt : 0,
    });
    if (this.#sessions.size === 0) this.#stopWatch();
  }

  /** The ticket was revoked on this node: its sessions close now (other nodes: next watch). */
  ticketRevoked(orgId: string, jti: string): void {
    for (const s of [...this.#sessions.values()])
      if (s.orgId === orgId && s.jti === jti) this.close(s.id, 'ticket_revoked');
  }

  /** Closes every session (the hub stopping). */
  closeAll(): void {
    for (const id of [...this.#sessions.keys()]) this.close(id, 'hub_stopping');
    this.#stopWatch();
  }

  /**
   * Checks every session against storage: the ticket revoked (on any node), the device no longer
   * active (quarantined, decommissioned), the device leg's certificate revoked. Storage is the
   * truth shared by the cluster, so an access change made on another node closes the tunnel here
   * within one watch interval.
   */
  async check(): Promise<void> {
    for (const s of [...this.#sessions.values()]) {
      try {
        const t = await this.d.storage.tickets.get(s.orgId, s.jti);
        if (!t || t.revokedAt !== null) {
          this.close(s.id, 'ticket_revoked');
          continue;
        }
        const device = await this.d.storage.devices.get(s.orgId, s.deviceId);
        if (!device || device.state !== 'active') {
          this.close(s.id, 'device_state');
          continue;
        }
        // The device's certificate, and the gateway's when the leg comes through one.
        for (const serial of [s.deviceSerial, s.via?.serial ?? null]) {
          if (serial === null) continue;
          const cert = await this.d.storage.pki.getCertificate(s.orgId, serial);
          if (!cert || cert.revokedAt !== null) {
            this.close(s.id, 'certificate_revoked');
            break;
          }
        }
      } catch (err) {
        this.d.log?.warn({ err, session: s.id }, 'relay session check failed');
      }
    }
  }

  #startWatch(): void {
    if (this.#watch) return;
    this.#watch = setInterval(() => {
      if (this.#watching) return;
      this.#watching = true;
      void this.check().finally(() => (this.#watching = false));
    }, this.#limits.watchMs);
    this.#watch.unref();
  }

  #stopWatch(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  #audit(
    s: Session<L>,
    action: string,
    result: 'success' | 'failure',
    detail: Record<string, unknown>,
  ): void {
    this.d.audit
      .record({
        orgId: s.orgId,
        actorType: s.principalType,
        actorId: s.principalId,
        action,
        targetType: 'device',
        targetId: s.deviceId,
        source: null,
        result,
        detail: { session: s.id, jti: s.jti, target: s.target, ...detail },
      })
      .catch((err: unknown) =>
        this.d.log?.warn({ err, session: s.id }, 'audit of a relay session failed'),
      );
  }
}
