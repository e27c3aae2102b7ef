/**
 * The one admission rule of the device edge (DESIGN.md §4.1): a credential — client certificate,
 * device key or API key — becomes the principal it names (device or application, with its
 * organization and state) or a typed refusal. MQTT over TLS and WebSocket, HTTP ingest, DDI, CoAP,
 * and later the gateway and the remote-access relay all call `admit`; nothing else decides.
 *
 * Failures are counted per source and per source + claimed subject in a failure throttle, so a
 * flood of wrong keys from one address is refused before any lookup (`locked`), and every failure
 * is an `auth.failed` domain event (monitoring, metrics).
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type {
  CredentialKind,
  DomainEvents,
  EdgeTransport,
  RefusalReason,
} from '../ports/events.js';
import type { ApiKey, CertificateRecord, Device } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { safeEqual, sha256Hex } from '../shared/hash.js';
import { parseApiKey, verifyApiKey } from '../identity/api-key-service.js';
import { certificateRefusal, subjectOf } from './admission-subjects.js';
import {
  AdmissionError,
  type AdmissionRequest,
  type AppPrincipal,
  type DevicePrincipal,
  type EdgeCredential,
  type EdgePrincipal,
} from './principal.js';
import type { SourceBlockHit, SourceBlocks } from './source-blocks.js';

/** Counts failures per key and says how long a key must wait (see core's failure throttle). */
export interface AdmissionThrottle {
  /** 0 when every key may try now, else the longest wait in ms. */
  retryAfterMs(keys: readonly string[]): number;
  failed(keys: readonly string[]): void;
  succeeded(keys: readonly string[]): void;
}

/** What admission reads. */
export interface AdmissionDeps {
  storage: Pick<Storage, 'devices' | 'deviceKeys' | 'apiKeys'>;
  clock: Clock;
  /** Chain, validity and revocation of a device certificate (PkiService.authenticateDevice). */
  certificates: {
    authenticateDevice(
      claimedOrgId: string,
      der: Uint8Array,
    ): Promise<{ device: Device; cert: CertificateRecord }>;
  };
  events?: DomainEvents;
  throttle?: AdmissionThrottle;
  /** Source addresses a `block_source` mitigation locked (decision 0036). */
  blocks?: Pick<SourceBlocks, 'check'>;
  /** DTLS-PSK identities (DevicePskService); without it a PSK credential is refused. */
  psks?: {
    resolve(
      identity: string,
    ): Promise<{ orgId: string; deviceId: string; ref: string } | undefined>;
  };
  /** Pinned raw public keys by SHA-256 of the SPKI (DeviceRpkService); without it RPK is refused. */
  rpks?: {
    resolve(fingerprint: string): Promise<{ orgId: string; deviceId: string } | undefined>;
  };
}

/** The one admission rule. */
export class Admission {
  /** (source, subject) lock episodes monitoring was told of, until when. */
  readonly #lockedToldUntil = new Map<string, number>();

  constructor(private readonly d: AdmissionDeps) {}

  /**
   * Admits a credential or throws an AdmissionError with the reason. A quarantined device IS
   * admitted (state `quarantined`): what it may still use is `policy.ts`'s to say.
   */
  async admit(req: AdmissionRequest): Promise<EdgePrincipal> {
    const subject = subjectOf(req.credential);
    // A blocked source is refused before the throttle and before any lookup when the block is
    // hub-wide (or names the organization a certificate claims); an organization's block on a
    // device or API key is known once the key is resolved. Not counted: the block is the answer.
    const blocked = this.d.blocks?.check(req.source) ?? null;
    if (blocked) {
      const claimed = req.credential.kind === 'certificate' ? req.credential.claimedOrgId : null;
      this.#refuseIfBlocked(req, blocked, claimed);
    }
    const keys = [`src:${req.source}`, `src:${req.source}|${subject ?? '-'}`];
    const wait = this.d.throttle?.retryAfterMs(keys) ?? 0;
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      return this.#refuse(
        req,
        new AdmissionError(
          'locked',
          req.credential.kind,
          `too many failed authentications from ${req.source}; try again in ${retryAfter} s`,
          { extra: { retryAfter } },
        ),
        null,
        this.#firstLockedRefusal(keys[1]!, wait),
      );
    }
    let principal: EdgePrincipal;
    try {
      principal = await this.#principal(req.credential);
      this.#checkClaims(req, principal);
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err;
      this.d.throttle?.failed(keys);
      return this.#refuse(req, err, err.orgId, true);
    }
    if (blocked) this.#refuseIfBlocked(req, blocked, principal.orgId);
    this.d.throttle?.succeeded([keys[1]!]);
    return principal;
  }

  /**
   * How long a source must wait before the hub spends a handshake on it (0: it may try now): the
   * source part of the same failure throttle `admit` uses, and hub-wide source blocks. Asked by
   * DTLS before it keeps any state for a handshake (decision 0041); the first wait of each lock
   * episode is an `auth.failed` event with reason `locked`, as in `admit`.
   */
  handshakeRetryAfterMs(transport: EdgeTransport, source: string, kind: CredentialKind): number {
    const blocked = this.d.blocks?.check(source) ?? null;
    const now = this.d.clock.now();
    const wait = Math.max(
      this.d.throttle?.retryAfterMs([`src:${source}`]) ?? 0,
      blocked ? blocked.hubWideUntil - now : 0,
    );
    if (wait > 0 && this.#firstLockedRefusal(`src:${source}|handshake`, wait)) {
      this.d.events?.emit({
        type: 'auth.failed',
        orgId: null,
        at: now,
        transport,
        source,
        reason: 'locked',
        credential: kind,
        subject: null,
      });
    }
    return Math.max(0, wait);
  }

  /**
   * A handshake that failed before a credential could reach `admit` — DTLS with an unknown PSK
   * identity, or a Finished that did not verify (the wrong key): counted in the same throttle and
   * reported as the same `auth.failed` event as any refused credential.
   */
  handshakeFailed(f: {
    transport: EdgeTransport;
    source: string;
    credential: EdgeCredential;
    reason: RefusalReason;
    orgId?: string | null;
  }): void {
    const subject = subjectOf(f.credential);
    this.d.throttle?.failed([`src:${f.source}`, `src:${f.source}|${subject ?? '-'}`]);
    this.d.events?.emit({
      type: 'auth.failed',
      orgId: f.orgId ?? null,
      at: this.d.clock.now(),
      transport: f.transport,
      source: f.source,
      reason: f.reason,
      credential: f.credential.kind as CredentialKind,
      subject,
    });
  }

  /** Reads a live principal again (its state or credential may have changed since admission). */
  async current(p: EdgePrincipal): Promise<EdgePrincipal | undefined> {
    if (p.type === 'api_key') {
      const key = await this.d.storage.apiKeys.get(p.id);
      const now = this.d.clock.now();
      return key && key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now)
        ? p
        : undefined;
    }
    const device = await this.d.storage.devices.get(p.orgId, p.id);
    if (!device || device.state === 'decommissioned') return undefined;
    return { ...p, device, state: device.state };
  }

  /**
   * Is this the first refusal of a lock episode of (source, subject)? Monitoring is told once per
   * episode (the lock is the strongest sign of guessing: detection raises a brute force on it),
   * not at every refused attempt. Bounded: the oldest episodes are forgotten first.
   */
  #firstLockedRefusal(key: string, waitMs: number): boolean {
    const now = this.d.clock.now();
    const until = this.#lockedToldUntil.get(key);
    if (until !== undefined && until > now) return false;
    this.#lockedToldUntil.delete(key);
    if (this.#lockedToldUntil.size >= 10_000)
      this.#lockedToldUntil.delete(this.#lockedToldUntil.keys().next().value!);
    this.#lockedToldUntil.set(key, now + waitMs);
    return true;
  }

  /** Refuses `blocked` when a block covers every credential or the organization `orgId`. */
  #refuseIfBlocked(req: AdmissionRequest, blocked: SourceBlockHit, orgId: string | null): void {
    const until = Math.max(
      blocked.hubWideUntil,
      orgId === null ? 0 : (blocked.orgs.get(orgId) ?? 0),
    );
    if (until === 0) return;
    const retryAfter = Math.max(1, Math.ceil((until - this.d.clock.now()) / 1000));
    throw new AdmissionError(
      'blocked',
      req.credential.kind,
      `authentications from ${req.source} are blocked by a mitigation until ${new Date(until).toISOString()}`,
      { code: 'source_blocked', extra: { retryAfter } },
    );
  }

  #refuse(
    req: AdmissionRequest,
    err: AdmissionError,
    orgId: string | null,
    counted: boolean,
  ): never {
    // A locked source is not told again and again to monitoring: the first refusals were, and the
    // first refusal of each lock episode is (`#firstLockedRefusal`).
    if (counted) {
      this.d.events?.emit({
        type: 'auth.failed',
        orgId,
        at: this.d.clock.now(),
        transport: req.transport,
        source: req.source,
        reason: err.reason,
        credential: req.credential.kind as CredentialKind,
        subject: subjectOf(req.credential),
      });
    }
    throw err;
  }

  #checkClaims(req: AdmissionRequest, p: EdgePrincipal): void {
    const c = req.claims;
    if (c?.orgId !== undefined && c.orgId !== p.orgId) {
      throw new AdmissionError(
        'wrong_organization',
        req.credential.kind,
        'the credential belongs to another organization',
        { orgId: p.orgId },
      );
    }
    if (c?.deviceId !== undefined && (p.type !== 'device' || c.deviceId !== p.id)) {
      throw new AdmissionError(
        'wrong_device',
        req.credential.kind,
        `the credential is not device ${c.deviceId}'s`,
        { orgId: p.orgId },
      );
    }
  }

  async #principal(c: EdgeCredential): Promise<EdgePrincipal> {
    switch (c.kind) {
      case 'certificate':
        return this.#byCertificate(c.claimedOrgId, c.der);
      case 'device_key':
        return this.#byDeviceKey(c.deviceId, c.secret);
      case 'psk':
        return this.#byPsk(c.identity, c.ref);
      case 'rpk':
        return this.#byRawKey(sha256Hex(c.spki));
      case 'api_key':
        return this.#byApiKey(c.secret);
    }
  }

  async #byCertificate(claimedOrgId: string, der: Uint8Array): Promise<DevicePrincipal> {
    let r: { device: Device; cert: CertificateRecord };
    try {
      r = await this.d.certificates.authenticateDevice(claimedOrgId, der);
    } catch (err) {
      if (!(err instanceof BulwarkError) || err.kind === 'internal') throw err;
      const reason = certificateRefusal(err);
      throw new AdmissionError(reason, 'certificate', err.message, {
        cause: err,
        code: err.code,
        ...(reason === 'revoked' || reason === 'superseded' || reason === 'decommissioned'
          ? { orgId: claimedOrgId }
          : {}),
      });
    }
    return this.#device(r.device, 'certificate', {
      kind: 'certificate',
      serial: r.cert.serial,
      cert: r.cert,
    });
  }

  async #byDeviceKey(deviceId: string, secret: string): Promise<DevicePrincipal> {
    if (deviceId === '' || secret === '')
      throw new AdmissionError('malformed', 'device_key', 'a device id and key are required', {
        code: 'device_key_invalid',
      });
    const hash = sha256Hex(secret);
    for (const k of await this.d.storage.deviceKeys.listLiveByDeviceId(deviceId)) {
      if (!safeEqual(k.secretHash, hash)) continue;
      const device = await this.d.storage.devices.get(k.orgId, deviceId);
      if (!device) break;
      return this.#device(device, 'device_key', { kind: 'device_key', keyId: k.id });
    }
    throw new AdmissionError('unknown', 'device_key', 'the device id or device key is wrong', {
      code: 'device_key_invalid',
    });
  }

  /** The handshake proved the key; what is left is whose it is now, and whether it still is. */
  async #byPsk(identity: string, ref: string): Promise<DevicePrincipal> {
    const psk = await this.d.psks?.resolve(identity);
    if (psk === undefined || psk.ref !== ref) {
      throw new AdmissionError(
        'unknown',
        'psk',
        'the PSK identity is unknown or its key was replaced',
        {
          code: 'unauthenticated',
          ...(psk === undefined ? {} : { orgId: psk.orgId }),
        },
      );
    }
    const device = await this.d.storage.devices.get(psk.orgId, psk.deviceId);
    if (!device) {
      throw new AdmissionError('unknown', 'psk', 'the PSK identity names no device', {
        code: 'unauthenticated',
      });
    }
    return this.#device(device, 'psk', { kind: 'psk', identity });
  }

  /** The handshake proved the key; its pin says which device it is now (RFC 7250). */
  async #byRawKey(fingerprint: string): Promise<DevicePrincipal> {
    const pin = await this.d.rpks?.resolve(fingerprint);
    const device = pin && (await this.d.storage.devices.get(pin.orgId, pin.deviceId));
    if (!device) {
      throw new AdmissionError('unknown', 'rpk', 'the raw public key is pinned to no device', {
        code: 'unauthenticated',
      });
    }
    return this.#device(device, 'rpk', { kind: 'rpk', fingerprint });
  }

  #device(
    device: Device,
    kind: CredentialKind,
    credential: DevicePrincipal['credential'],
  ): DevicePrincipal {
    if (device.state === 'decommissioned') {
      throw new AdmissionError('decommissioned', kind, `device ${device.id} is decommissioned`, {
        orgId: device.orgId,
      });
    }
    return {
      type: 'device',
      id: device.id,
      orgId: device.orgId,
      state: device.state,
      device,
      credential,
    };
  }

  async #byApiKey(presented: string): Promise<AppPrincipal> {
    let key: ApiKey;
    try {
      key = await verifyApiKey(this.d, presented);
    } catch (err) {
      if (!(err instanceof BulwarkError) || err.kind === 'internal') throw err;
      const reason: RefusalReason =
        err.code === 'api_key_revoked'
          ? 'revoked'
          : err.extra['expired'] === true
            ? 'expired'
            : parseApiKey(presented)
              ? 'unknown'
              : 'malformed';
      throw new AdmissionError(reason, 'api_key', err.message, { cause: err, code: err.code });
    }
    return {
      type: 'api_key',
      id: key.id,
      orgId: key.orgId,
      name: key.name,
      permissions: key.permissions as AppPrincipal['permissions'],
    };
  }
}
