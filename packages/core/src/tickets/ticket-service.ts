import {
  BulwarkError,
  type AccessTicketClaims,
  type DeviceEvent,
  type Permission,
} from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { AccessTicketRecord, TicketPerm } from '../ports/tickets.js';
import type { DeviceService } from '../devices/device-service.js';
import type { Principal } from '../identity/principal.js';
import type { DeviceAccess } from '../identity/device-scope.js';
import type { PkiService } from '../pki/pki-service.js';
import { newId } from '../shared/ids.js';

/** Lifetimes of access tickets, in seconds. */
export interface TicketConfig {
  /** A normal ticket's lifetime when the caller names none. */
  defaultTtlSeconds: number;
  /** Shortest lifetime: below a minute a person cannot type the ticket into `openssl s_client`. */
  minTtlSeconds: number;
  /** Longest normal ticket: "expires within minutes" (issue 5 item 8). */
  maxTtlSeconds: number;
  /** A backup ticket's lifetime when the caller names none. */
  defaultBackupTtlSeconds: number;
  /** Longest backup ticket: a quarter, so a forgotten one in a site's safe dies on its own. */
  maxBackupTtlSeconds: number;
  /** At most this many live backup tickets per device, so revocation lists stay small. */
  maxLiveBackupTickets: number;
}

export const DEFAULT_TICKET_CONFIG: TicketConfig = {
  defaultTtlSeconds: 5 * 60,
  minTtlSeconds: 60,
  maxTtlSeconds: 15 * 60,
  defaultBackupTtlSeconds: 30 * 86_400,
  maxBackupTtlSeconds: 90 * 86_400,
  maxLiveBackupTickets: 32,
};

/**
 * What the caller must hold to issue a ticket of each level. A ticket hands a person on site the
 * device's local port, so it never grants more than the caller could do remotely:
 *  - read (get, list) needs `devices:read`;
 *  - operate (set, passthrough) needs `devices:manage`, as changing a device's configuration does;
 *  - admin (reboot, factory-reset) also needs `org:manage`: a factory reset wipes the device's
 *    identity, so by default only owners (or members explicitly granted it) hand that out.
 */
export const TICKET_ISSUE_PERMISSIONS: Readonly<Record<TicketPerm, readonly Permission[]>> = {
  read: ['devices:read'],
  operate: ['devices:manage'],
  admin: ['devices:manage', 'org:manage'],
};

/** A request to issue a ticket. */
export interface IssueTicketRequest {
  perm: TicketPerm;
  ttlSeconds?: number;
  backup?: boolean;
  /** What a remote-access tunnel may reach with it (the `tgt` claim; decision 0042). */
  target?: string;
}

/** A ticket just issued: the signed JWS (shown once, never stored) and its record. */
export interface IssuedTicket {
  ticket: string;
  record: AccessTicketRecord;
}

/**
 * Where revocations go so that devices learn of them: the device's desired twin
 * (`tickets.revoked`, the list of revoked, unexpired ticket ids). The hub wires the twin service in.
 */
export type RevocationSink = (
  orgId: string,
  deviceId: string,
  jtis: string[],
  actor: { type: 'user' | 'api_key'; id: string },
) => Promise<void>;

/** The JOSE `typ` of a ticket's header (RFC 7515 §4.1.9). */
export const TICKET_JOSE_TYPE = 'bulwark-ticket+jwt';

/**
 * One-time access tickets for a device's local management port: signed with the organization's
 * issuing CA key (PkiService), recorded for listing and audit, backup tickets revocable.
 */
export class TicketService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      pki: PkiService;
      devices: DeviceService;
      audit: AuditService;
      config: TicketConfig;
      /** Org-wide or scoped permission on the device (decision 0046). */
      access: Pick<DeviceAccess, 'require'>;
      /** Sends the revocation list to the device (the twin); absent, revocation is hub-side only. */
      revocations?: RevocationSink;
      /** Told of each revocation on this node (the relay closes the ticket's tunnel at once). */
      onRevoked?: (orgId: string, jti: string) => void;
    },
  ) {}

  /** Issues a ticket for one device and one permission level. */
  async issue(p: Principal, deviceId: string, req: IssueTicketRequest): Promise<IssuedTicket> {
    if (p.kind === 'device') throw new BulwarkError('forbidden', 'devices cannot issue tickets');
    for (const needed of TICKET_ISSUE_PERMISSIONS[req.perm])
      await this.d.access.require(p, deviceId, needed);
    const c = this.d.config;
    const backup = req.backup === true;
    const ttl = req.ttlSeconds ?? (backup ? c.defaultBackupTtlSeconds : c.defaultTtlSeconds);
    const max = backup ? c.maxBackupTtlSeconds : c.maxTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < c.minTtlSeconds || ttl > max) {
      throw new BulwarkError(
        'validation_failed',
        `ttlSeconds must be a whole number from ${c.minTtlSeconds} to ${max} for a ${backup ? 'backup' : 'normal'} ticket`,
        { extra: { field: 'ttlSeconds' } },
      );
    }
    const device = await this.d.devices.get(p.orgId, deviceId);
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    if (device.state !== 'active') {
      throw new BulwarkError(
        'conflict',
        `the device is ${device.state}: tickets are issued for active (enrolled, not quarantined) devices only`,
      );
    }
    const now = this.d.clock.now();
    if (backup) {
      const live = await this.d.storage.tickets.listForDevice(p.orgId, deviceId, {
        unexpiredAt: now,
        limit: 500,
      });
      const liveBackups = live.filter((t) => t.backup && t.revokedAt === null).length;
      if (liveBackups >= c.maxLiveBackupTickets) {
        throw new BulwarkError(
          'conflict',
          `the device already has ${liveBackups} live backup tickets (at most ${c.maxLiveBackupTickets}); revoke some first`,
        );
      }
    }
    // Whole seconds (JWT NumericDate, RFC 7519 §2); the record keeps the same instants in ms.
    const iat = Math.floor(now / 1000);
    const exp = iat + ttl;
    const record: AccessTicketRecord = {
      jti: newId(now),
      orgId: p.orgId,
      deviceId,
      perm: req.perm,
      issuedBy: p.id,
      issuedByType: p.kind,
      issuedAt: iat * 1000,
      expiresAt: exp * 1000,
      backup,
      revokedAt: null,
    };
    const claims: AccessTicketClaims = {
      typ: 'bulwark-ticket',
      jti: record.jti,
      sub: deviceId,
      org: p.orgId,
      perm: req.perm,
      by: p.id,
      iat,
      exp,
      ...(backup ? { backup: true } : {}),
      ...(req.target !== undefined ? { tgt: req.target } : {}),
    };
    const ticket = await this.d.pki.signJws(p.orgId, { ...claims }, { typ: TICKET_JOSE_TYPE });
    await this.d.storage.tickets.create(record);
    return { ticket, record };
  }

  /** A device's tickets, newest first; only unexpired ones unless `all`. */
  async list(
    orgId: string,
    deviceId: string,
    opts: { all?: boolean; limit?: number } = {},
  ): Promise<AccessTicketRecord[]> {
    await this.d.devices.get(orgId, deviceId);
    return this.d.storage.tickets.listForDevice(orgId, deviceId, {
      limit: opts.limit ?? 100,
      ...(opts.all ? {} : { unexpiredAt: this.d.clock.now() }),
    });
  }

  /**
   * Revokes a ticket: recorded at once, and the device's revocation list is pushed through the
   * twin so a device that is offline refuses it once it next syncs. A normal ticket expires within
   * minutes, so revoking one mostly matters for backup tickets, but either can be revoked.
   */
  async revoke(p: Principal, deviceId: string, jti: string): Promise<AccessTicketRecord> {
    const t = await this.d.storage.tickets.get(p.orgId, jti);
    if (!t || t.deviceId !== deviceId)
      throw new BulwarkError('not_found', 'no such ticket for this device');
    for (const needed of TICKET_ISSUE_PERMISSIONS[t.perm])
      await this.d.access.require(p, deviceId, needed);
    if (t.revokedAt !== null) throw new BulwarkError('conflict', 'the ticket is already revoked');
    const now = this.d.clock.now();
    if (t.expiresAt <= now) throw new BulwarkError('conflict', 'the ticket has already expired');
    if (!(await this.d.storage.tickets.revoke(p.orgId, jti, now)))
      throw new BulwarkError('conflict', 'the ticket is already revoked');
    if (p.kind !== 'device')
      await this.publishRevocations(p.orgId, deviceId, { type: p.kind, id: p.id });
    this.d.onRevoked?.(p.orgId, jti);
    return { ...t, revokedAt: now };
  }

  /** The ids a device must refuse: revoked tickets that have not expired yet. */
  async revokedIds(orgId: string, deviceId: string): Promise<string[]> {
    const rows = await this.d.storage.tickets.listRevoked(orgId, deviceId, this.d.clock.now());
    return rows.map((t) => t.jti);
  }

  /**
   * Pushes the device's current revocation list to its twin (when a sink is wired). A
   * decommissioned device has no twin to change and no identity to serve the port with: skipped.
   */
  async publishRevocations(
    orgId: string,
    deviceId: string,
    actor: { type: 'user' | 'api_key'; id: string },
  ): Promise<void> {
    if (!this.d.revocations) return;
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.state === 'decommissioned') return;
    await this.d.revocations(orgId, deviceId, await this.revokedIds(orgId, deviceId), actor);
  }

  /**
   * Records a `local_session` event a device reported (session opened, refused, a mutating
   * command, closed …) in the audit log, under the device as actor: the device plane calls this
   * for each such event it receives. The ticket holder's user id is in the detail (`by`), as the
   * device reported it. Other kinds of event are ignored.
   */
  async recordLocalSession(orgId: string, deviceId: string, event: DeviceEvent): Promise<void> {
    if (event.kind !== 'local_session') return;
    const d = event.detail;
    const action =
      typeof d['action'] === 'string' && /^[a-z_]{1,40}$/.test(d['action'])
        ? d['action']
        : 'unknown';
    await this.d.audit.record({
      orgId,
      actorType: 'device',
      actorId: deviceId,
      action: `local_session.${action}`,
      targetType: 'device',
      targetId: deviceId,
      source: typeof d['remote'] === 'string' ? d['remote'].slice(0, 100) : null,
      result: action === 'refused' || action === 'denied' ? 'failure' : 'success',
      detail: { ...d, severity: event.severity, deviceTime: event.at },
    });
  }
}
