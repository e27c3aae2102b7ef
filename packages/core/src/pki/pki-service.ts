import { EventEmitter } from 'node:events';
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type {
  CertificateAuthority,
  CsrInfo,
  KeyedCertificate,
  VerifiedClientCertificate,
} from '../ports/pki.js';
import { type CertificateRecord, type Device, type DeviceKey } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { DeviceService } from '../devices/device-service.js';
import type { MessagingService } from '../messaging/messaging-service.js';
import { newId } from '../shared/ids.js';
import {
  RENEWAL_WINDOW_MS,
  assertNotRetired,
  descendantsOf,
  renewalRateLimited,
} from './lineage.js';
import { randomToken, sha256Hex } from '../shared/hash.js';
import type { SecretBox } from '../shared/secret-box.js';
import { IssuedHere } from './issued-here.js';
import { OrgAuthorities } from './org-authorities.js';

/** Lifetimes of what the PKI issues. */
export interface PkiConfig {
  rootCaDays: number;
  issuingCaDays: number;
  deviceCertDays: number;
  enrollmentTokenTtlSeconds: number;
  /** How long a CRL is valid; consumers refetch at least this often. */
  crlValiditySeconds: number;
  /** How long a renewed certificate stays valid beside its successor (decision 0016). */
  renewalOverlapSeconds: number;
  /** Renewals one device may make in any 24 hours. */
  renewalsPerDay: number;
}

export const DEFAULT_PKI_CONFIG: PkiConfig = {
  rootCaDays: 20 * 365,
  issuingCaDays: 5 * 365,
  deviceCertDays: 365,
  enrollmentTokenTtlSeconds: 3600,
  crlValiditySeconds: 3600,
  // The hub's config documents why (hub/src/config.ts: certOverlapSeconds, certRenewalsPerDay).
  renewalOverlapSeconds: 3600,
  renewalsPerDay: 4,
};

/** Events other parts listen to (e.g. transports cutting live sessions on revocation). */
export interface PkiEvents {
  /** A certificate was issued: on enrollment (`renewedFrom` null) or renewal. */
  'certificate-issued': [cert: CertificateRecord, renewedFrom: string | null];
  'certificate-revoked': [cert: CertificateRecord];
  'device-key-revoked': [key: DeviceKey];
}

/** A certificate just issued to a device, with what it needs to trust and be trusted. */
export interface Enrollment {
  device: Device;
  cert: CertificateRecord;
  chain: string[];
  hubCa: string;
}

/**
 * Client certificates whose signature and shape verified, by the SHA-256 of their DER and the
 * issuing CA they verified against: every HTTPS request of a device on a kept-alive connection
 * presents the same certificate, and re-parsing and re-verifying it each time cost ~3–4 ms of hub
 * CPU per request. Revocation and the device's state are still read from storage every time.
 */
const VERIFIED_MAX = 20_000;
const VERIFIED_TTL_MS = 10 * 60_000;
interface VerifiedEntry {
  v: VerifiedClientCertificate;
  issuerPem: string;
  at: number;
}

/**
 * Device PKI: per organization a root and an issuing CA (keys sealed with the master key), the
 * hub's own CA for its TLS server certificate, enrollment with one-time tokens, renewal, revocation
 * that takes effect at once, CRLs, and random keys for constrained devices.
 */
export class PkiService extends EventEmitter<PkiEvents> {
  readonly #verified = new Map<string, VerifiedEntry>();
  readonly #cas: OrgAuthorities;
  readonly #issuedHere: IssuedHere;

  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      box: SecretBox;
      ca: CertificateAuthority;
      devices: DeviceService;
      /** Channel rights, removed when a device is decommissioned. */
      channels: Pick<MessagingService, 'disconnectClient'>;
      config: PkiConfig;
    },
  ) {
    super();
    this.#cas = new OrgAuthorities(d);
    this.#issuedHere = new IssuedHere(d.storage.pki);
  }

  /** Certificates of an outside CA that signs the hub's server certificate (decision 0025). */
  #serverIssuers = '';

  /** The hub's own CA certificate (signs the server certificate the hub makes itself). */
  hubCaPem(): Promise<string> {
    return this.#cas.hubCaPem();
  }

  /**
   * Sets the CA certificates (PEM, up to the root) of an outside CA that signs the hub's TLS
   * server certificate (`--tls-cert`), or '' when the hub's own CA does; on every start and
   * certificate reload. They are handed to devices and clients with the hub's own CA.
   */
  setServerIssuers(pem: string): void {
    this.#serverIssuers = pem === '' || pem.endsWith('\n') ? pem : `${pem}\n`;
  }

  /**
   * What a device or client must trust to reach the hub (decision 0025): whatever signs the
   * server certificate (an outside CA's chain) and the hub's own CA, in one PEM bundle.
   */
  async serverTrustPem(): Promise<string> {
    const own = await this.#cas.hubCaPem();
    return this.#serverIssuers + (own.endsWith('\n') ? own : `${own}\n`);
  }

  /** Signs a payload as a compact JWS with the organization's issuing CA key (access tickets). */
  signJws(
    orgId: string,
    payload: Record<string, unknown>,
    header: Record<string, string> = {},
  ): Promise<string> {
    return this.#cas.signJws(orgId, payload, header);
  }

  /** A fresh TLS server certificate from the hub's CA. */
  issueServerCertificate(names: {
    dnsNames: string[];
    ipAddresses: string[];
  }): Promise<KeyedCertificate> {
    return this.#cas.issueServerCertificate(names);
  }

  /** The organization's root and issuing CA and the server trust bundle, creating the CAs on first use. */
  async caBundle(orgId: string): Promise<{ root: string; issuing: string; hub: string }> {
    const b = await this.#cas.caBundle(orgId);
    return { ...b, hub: await this.serverTrustPem() };
  }

  /** The organization's CRL (PEM), regenerated when a revocation happened or it nears expiry. */
  crl(orgId: string): Promise<string> {
    return this.#cas.crl(orgId);
  }

  /** A one-time enrollment token for a device (shown once; stored as a hash). */
  async createEnrollmentToken(
    orgId: string,
    deviceId: string,
    createdBy: string | null,
    ttlSeconds = this.d.config.enrollmentTokenTtlSeconds,
  ): Promise<{ token: string; deviceId: string; expiresAt: number }> {
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    const now = this.d.clock.now();
    const token = `bwe_${randomToken(24)}`;
    await this.d.storage.pki.createEnrollmentToken({
      id: newId(now),
      orgId,
      deviceId,
      tokenHash: sha256Hex(token),
      createdBy,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
      usedAt: null,
    });
    return { token, deviceId, expiresAt: now + ttlSeconds * 1000 };
  }

  /**
   * Token + CSR → a certificate naming the device. Checks come before anything is written, so a
   * bad CSR leaves the token usable; the token is consumed atomically with storing the certificate.
   */
  async enroll(token: string, csrPem: string): Promise<Enrollment> {
    const { storage, clock } = this.d;
    const now = clock.now();
    const t = await storage.pki.getEnrollmentTokenByHash(sha256Hex(token));
    if (!t) throw new BulwarkError('enrollment_token_invalid');
    if (t.usedAt !== null) throw new BulwarkError('enrollment_token_used');
    if (t.expiresAt <= now) throw new BulwarkError('enrollment_token_expired');
    const device = await this.d.devices.get(t.orgId, t.deviceId);
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    const cert = await this.#issue(device, csrPem, now);
    if (!(await storage.pki.completeEnrollment(t.id, now, cert)))
      throw new BulwarkError('enrollment_token_used');
    this.emit('certificate-issued', cert, null);
    const active =
      device.state === 'provisioned'
        ? await this.d.devices.setState(device.orgId, device.id, 'active')
        : device;
    return this.#enrollment(active, cert);
  }

  /**
   * A certificate for a device that provisioning is about to store together with the device
   * (decision 0027): the same checks as enrollment, nothing written.
   */
  certify(device: Device, csrPem: string): Promise<CertificateRecord> {
    return this.#issue(device, csrPem, this.d.clock.now());
  }

  /** The adapter's checks of a CSR, and its key's fingerprint. */
  inspectCsr(csrPem: string): Promise<CsrInfo> {
    return this.d.ca.inspectCsr(csrPem);
  }

  /** The answer for a certificate that provisioning stored, announced as issued when `fresh`. */
  provisioned(device: Device, cert: CertificateRecord, fresh: boolean): Promise<Enrollment> {
    if (fresh) this.emit('certificate-issued', cert, null);
    return this.#enrollment(device, cert);
  }

  async #issue(device: Device, csrPem: string, now: number): Promise<CertificateRecord> {
    const info = await this.d.ca.inspectCsr(csrPem);
    // Every device has its own key: a key already certified for another device is refused.
    const others = (
      await this.d.storage.pki.findLiveBySpki(device.orgId, info.spkiSha256, now)
    ).filter((c) => c.deviceId !== device.id);
    if (others.length > 0) throw new BulwarkError('key_reused');
    const issuer = await this.#cas.get(device.orgId, 'issuing');
    const issued = await this.d.ca.issueDeviceCertificate(issuer, {
      csrPem,
      deviceId: device.id,
      orgId: device.orgId,
      validityDays: this.d.config.deviceCertDays,
      now,
    });
    return {
      serial: issued.serial,
      orgId: device.orgId,
      deviceId: device.id,
      certPem: issued.certPem,
      fingerprint: issued.fingerprint,
      spkiSha256: issued.spkiSha256,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      createdAt: now,
      revokedAt: null,
      revocationReason: null,
      renewedFrom: null,
      supersededBy: null,
      retireAt: null,
    };
  }

  async #enrollment(device: Device, cert: CertificateRecord): Promise<Enrollment> {
    const b = await this.caBundle(device.orgId);
    return { device, cert, chain: [b.issuing, b.root], hubCa: b.hub };
  }

  /**
   * Authenticates a device by its client certificate: signed by the claimed organization's issuing
   * CA, within validity, issued by this hub and not revoked, device not decommissioned or quarantined.
   * The revocation check reads the store, so revocation takes effect at once.
   */
  async authenticateDevice(
    claimedOrgId: string,
    certDer: Uint8Array,
  ): Promise<{ device: Device; cert: CertificateRecord }> {
    const rec = await this.d.storage.pki.getCa(claimedOrgId, 'issuing');
    if (!rec)
      throw new BulwarkError('certificate_invalid', 'the certificate was not issued by this hub');
    const now = this.d.clock.now();
    // A certificate recorded here is recognised by its fingerprint (issued-here.ts); anything
    // else gets the CA adapter's full verification and its precise refusal.
    const known = await this.#issuedHere.recognise(
      claimedOrgId,
      certDer,
      sha256Hex(certDer),
      rec.certPem,
      now,
    );
    const v = known?.v ?? (await this.#verifyClientCertificate(certDer, rec.certPem, now));
    const cert = known?.cert ?? (await this.d.storage.pki.getCertificate(v.orgId, v.serial));
    if (!cert || cert.fingerprint !== v.fingerprint)
      throw new BulwarkError('certificate_invalid', 'unknown certificate');
    if (cert.revokedAt !== null) throw new BulwarkError('certificate_revoked');
    assertNotRetired(cert, now);
    const device = await this.d.storage.devices.get(v.orgId, v.deviceId);
    if (!device) throw new BulwarkError('certificate_invalid', 'the device no longer exists');
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    return { device, cert };
  }

  /** The CA adapter's verification, remembered for VERIFIED_TTL_MS within the certificate's validity. */
  async #verifyClientCertificate(
    der: Uint8Array,
    issuerPem: string,
    now: number,
  ): Promise<VerifiedClientCertificate> {
    const key = sha256Hex(der);
    const hit = this.#verified.get(key);
    if (
      hit &&
      hit.issuerPem === issuerPem &&
      now - hit.at < VERIFIED_TTL_MS &&
      now >= hit.v.notBefore &&
      now <= hit.v.notAfter
    ) {
      return hit.v;
    }
    this.#verified.delete(key);
    const v = await this.d.ca.verifyClientCertificate(der, issuerPem, now);
    if (this.#verified.size >= VERIFIED_MAX) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(key, { v, issuerPem, at: now });
    return v;
  }

  /**
   * Renews a device's certificate; the caller authenticated with `current` (mutual TLS). The new
   * certificate supersedes `current`, which stays valid for the overlap and is then refused and
   * revoked as `superseded`. A certificate renews once: a second renewal with it is refused —
   * unless it repeats the first one's key (the device retrying a renewal whose answer it lost),
   * which gets the same successor back and mints nothing. Rate-limited per device.
   */
  async renew(device: Device, current: CertificateRecord, csrPem: string): Promise<Enrollment> {
    if (device.state === 'quarantined')
      throw new BulwarkError('forbidden', 'a quarantined device cannot renew its certificate');
    if (current.supersededBy !== null) return this.#renewedAlready(device, current, csrPem);
    const now = this.d.clock.now();
    const cert = { ...(await this.#issue(device, csrPem, now)), renewedFrom: current.serial };
    const outcome = await this.d.storage.pki.renewCertificate({
      cert,
      retireAt: now + this.d.config.renewalOverlapSeconds * 1000,
      since: now - RENEWAL_WINDOW_MS,
      limit: this.d.config.renewalsPerDay,
    });
    switch (outcome) {
      case 'renewed':
        this.emit('certificate-issued', cert, current.serial);
        return this.#enrollment(device, cert);
      case 'rate_limited':
        throw renewalRateLimited(
          await this.d.storage.pki.listCertificates(device.orgId, device.id),
          this.d.config.renewalsPerDay,
          now,
        );
      case 'revoked':
        throw new BulwarkError('certificate_revoked');
      case 'not_found':
        throw new BulwarkError('certificate_invalid', 'unknown certificate');
      case 'superseded': {
        // Another renewal with the same certificate won a race: treat this one as its retry.
        const fresh = await this.d.storage.pki.getCertificate(device.orgId, current.serial);
        return this.#renewedAlready(device, fresh ?? current, csrPem);
      }
    }
  }

  /** A renewal presenting a certificate that was already renewed (see `renew`). */
  async #renewedAlready(
    device: Device,
    current: CertificateRecord,
    csrPem: string,
  ): Promise<Enrollment> {
    const next =
      current.supersededBy === null
        ? undefined
        : await this.d.storage.pki.getCertificate(device.orgId, current.supersededBy);
    if (next && next.revokedAt === null) {
      const info = await this.d.ca.inspectCsr(csrPem);
      if (info.spkiSha256 === next.spkiSha256) return this.#enrollment(device, next);
    }
    throw new BulwarkError(
      'certificate_superseded',
      `this certificate was already renewed (its successor is ${current.supersededBy ?? 'unknown'}): renew with the successor; if this device did not renew it, its key may be compromised — revoke this certificate`,
    );
  }

  /** A device's certificates, newest first. */
  async listCertificates(orgId: string, deviceId: string): Promise<CertificateRecord[]> {
    await this.d.devices.get(orgId, deviceId);
    return this.d.storage.pki.listCertificates(orgId, deviceId);
  }

  /**
   * Revokes a certificate at once; it is in the next CRL and refused at every connection. Every
   * certificate renewed from it is revoked too (a thief's renewals of a stolen key), except when
   * the reason is `superseded`, which says its successor replaced it. Revoking an already revoked
   * certificate still revokes live descendants; with none left it is a conflict.
   */
  async revoke(
    orgId: string,
    deviceId: string,
    serial: string,
    reason = 'unspecified',
  ): Promise<CertificateRecord> {
    const cert = await this.d.storage.pki.getCertificate(orgId, serial);
    if (!cert || cert.deviceId !== deviceId)
      throw new BulwarkError('not_found', 'no such certificate for this device');
    const family =
      reason === 'superseded'
        ? []
        : descendantsOf(await this.d.storage.pki.listCertificates(orgId, deviceId), serial).filter(
            (c) => c.revokedAt === null,
          );
    if (cert.revokedAt !== null && family.length === 0)
      throw new BulwarkError('conflict', 'the certificate is already revoked');
    const revoked = (await this.#revokeOne(cert, reason)) ?? cert;
    for (const c of family) await this.#revokeOne(c, reason);
    return revoked;
  }

  /**
   * Revokes every live certificate of the device (e.g. its key was stolen and the thief renewed
   * it); each is signalled like a single revocation. The device keeps its state and can enroll
   * again with a new token. Returns what was revoked now.
   */
  async revokeAll(
    orgId: string,
    deviceId: string,
    reason = 'unspecified',
  ): Promise<CertificateRecord[]> {
    await this.d.devices.get(orgId, deviceId);
    const out: CertificateRecord[] = [];
    for (const c of await this.d.storage.pki.listCertificates(orgId, deviceId)) {
      if (c.revokedAt !== null) continue;
      const r = await this.#revokeOne(c, reason);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Revokes, as `superseded`, renewed certificates whose overlap has ended (the hub calls this
   * every minute; they are refused from `retireAt` on regardless). Returns how many.
   */
  async retireSuperseded(limit = 500): Promise<number> {
    let n = 0;
    for (const c of await this.d.storage.pki.listRetired(this.d.clock.now(), limit)) {
      if (await this.#revokeOne(c, 'superseded')) n++;
    }
    return n;
  }

  /** Revokes one certificate and signals it; undefined when it was revoked meanwhile. */
  async #revokeOne(
    cert: CertificateRecord,
    reason: string,
  ): Promise<CertificateRecord | undefined> {
    if (cert.revokedAt !== null) return undefined;
    const at = this.d.clock.now();
    if (!(await this.d.storage.pki.revokeCertificate(cert.orgId, cert.serial, at, reason)))
      return undefined;
    const revoked = { ...cert, revokedAt: at, revocationReason: reason };
    this.#cas.crlChanged(cert.orgId);
    this.emit('certificate-revoked', revoked);
    return revoked;
  }

  /**
   * Decommissions a device: every certificate and key revoked, its channel connections removed,
   * state `decommissioned`. The state changes last, so a decommission interrupted midway is
   * completed by calling it again.
   */
  async decommission(orgId: string, deviceId: string): Promise<Device> {
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.state === 'decommissioned') return device;
    await this.revokeAll(orgId, deviceId, 'cessationOfOperation');
    for (const k of await this.d.storage.deviceKeys.listForDevice(orgId, deviceId)) {
      if (k.revokedAt === null) await this.revokeDeviceKey(orgId, deviceId, k.id);
    }
    await this.d.channels.disconnectClient(orgId, 'device', deviceId);
    return this.d.devices.setState(orgId, deviceId, 'decommissioned');
  }

  /** A random key for a constrained device (shown once, stored as a hash). */
  async createDeviceKey(
    orgId: string,
    deviceId: string,
  ): Promise<{ deviceKey: DeviceKey; key: string }> {
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    const now = this.d.clock.now();
    const key = `bwd_${randomToken(32)}`;
    const deviceKey: DeviceKey = {
      id: newId(now),
      orgId,
      deviceId,
      secretHash: sha256Hex(key),
      createdAt: now,
      revokedAt: null,
    };
    await this.d.storage.deviceKeys.create(deviceKey);
    return { deviceKey, key };
  }

  /** A device's keys. */
  async listDeviceKeys(orgId: string, deviceId: string): Promise<DeviceKey[]> {
    await this.d.devices.get(orgId, deviceId);
    return this.d.storage.deviceKeys.listForDevice(orgId, deviceId);
  }

  /** Revokes a device key at once. */
  async revokeDeviceKey(orgId: string, deviceId: string, keyId: string): Promise<void> {
    const key = (await this.d.storage.deviceKeys.listForDevice(orgId, deviceId)).find(
      (k) => k.id === keyId,
    );
    if (!key || !(await this.d.storage.deviceKeys.revoke(orgId, keyId, this.d.clock.now()))) {
      throw new BulwarkError('not_found', 'no such live key for this device');
    }
    this.emit('device-key-revoked', { ...key, revokedAt: this.d.clock.now() });
  }
}
