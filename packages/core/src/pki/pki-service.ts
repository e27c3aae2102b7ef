import { sign as cryptoSign } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type {
  CertificateAuthority,
  KeyedCertificate,
  VerifiedClientCertificate,
} from '../ports/pki.js';
import {
  HUB_SCOPE,
  type CaRecord,
  type CaRole,
  type CertificateRecord,
  type Device,
  type DeviceKey,
} from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { DeviceService } from '../devices/device-service.js';
import { newId } from '../shared/ids.js';
import { randomToken, safeEqual, sha256Hex } from '../shared/hash.js';
import type { SecretBox } from '../shared/secret-box.js';

/** Lifetimes of what the PKI issues. */
export interface PkiConfig {
  rootCaDays: number;
  issuingCaDays: number;
  deviceCertDays: number;
  enrollmentTokenTtlSeconds: number;
  /** How long a CRL is valid; consumers refetch at least this often. */
  crlValiditySeconds: number;
}

export const DEFAULT_PKI_CONFIG: PkiConfig = {
  rootCaDays: 20 * 365,
  issuingCaDays: 5 * 365,
  deviceCertDays: 365,
  enrollmentTokenTtlSeconds: 3600,
  crlValiditySeconds: 3600,
};

/** Events other parts listen to (e.g. transports cutting live sessions on revocation). */
export interface PkiEvents {
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

const KEY_CONTEXT = (scope: string, role: CaRole) => `ca-key:${scope}:${role}`;

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
  readonly #crlCache = new Map<string, { pem: string; revoked: number; nextUpdate: number }>();
  readonly #verified = new Map<string, VerifiedEntry>();

  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      box: SecretBox;
      ca: CertificateAuthority;
      devices: DeviceService;
      config: PkiConfig;
    },
  ) {
    super();
  }

  /** The CA of a scope and role, made on first use (race-safe across hub nodes). */
  async #ca(scope: string, role: CaRole): Promise<KeyedCertificate & { record: CaRecord }> {
    const { storage } = this.d;
    let rec = await storage.pki.getCa(scope, role);
    if (!rec) {
      const organization = scope === HUB_SCOPE ? 'Bulwark hub' : `Bulwark organization ${scope}`;
      const fresh =
        role === 'root' || scope === HUB_SCOPE
          ? await this.d.ca.createRoot({
              commonName: `${organization} root CA`,
              organization,
              validityDays: this.d.config.rootCaDays,
            })
          : await this.d.ca.createIssuing(await this.#ca(scope, 'root'), {
              commonName: `${organization} issuing CA`,
              organization,
              validityDays: this.d.config.issuingCaDays,
            });
      await storage.pki.putCaIfAbsent({
        scope,
        role,
        certPem: fresh.certPem,
        keySealed: this.d.box.seal(fresh.keyPem, KEY_CONTEXT(scope, role)),
        serial: fresh.serial,
        notAfter: fresh.notAfter,
        createdAt: this.d.clock.now(),
      });
      rec = await storage.pki.getCa(scope, role);
      if (!rec) throw new Error(`CA ${scope}/${role} vanished after creation`);
    }
    let keyPem: string;
    try {
      keyPem = this.d.box.open(rec.keySealed, KEY_CONTEXT(scope, role)).toString();
    } catch (err) {
      throw new Error(
        `the master key does not open the ${role} CA key of ${scope}: this database was set up with another master key (check --master-key-file)`,
        { cause: err },
      );
    }
    return { record: rec, certPem: rec.certPem, keyPem };
  }

  /** The hub's CA certificate (what clients trust for the hub's TLS server certificate). */
  async hubCaPem(): Promise<string> {
    return (await this.#ca(HUB_SCOPE, 'root')).certPem;
  }

  /**
   * Signs a payload as a compact JWS (RFC 7515, ES256 per RFC 7518 §3.4: the raw r‖s signature)
   * with the organization's issuing CA key, which every enrolled device has in its chain and so can
   * verify offline (access tickets). The key never leaves this service.
   */
  async signJws(
    orgId: string,
    payload: Record<string, unknown>,
    header: Record<string, string> = {},
  ): Promise<string> {
    const issuer = await this.#ca(orgId, 'issuing');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ ...header, alg: 'ES256', kid: issuer.record.serial })}.${b64(payload)}`;
    const sig = cryptoSign('sha256', Buffer.from(input), {
      key: issuer.keyPem,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${sig.toString('base64url')}`;
  }

  /** A fresh TLS server certificate from the hub's CA. */
  async issueServerCertificate(names: {
    dnsNames: string[];
    ipAddresses: string[];
  }): Promise<KeyedCertificate> {
    const issuer = await this.#ca(HUB_SCOPE, 'root');
    return this.d.ca.issueServerCertificate(issuer, {
      commonName: names.dnsNames[0] ?? 'bulwark-hub',
      ...names,
      validityDays: 397, // the CA/B Forum's cap for server certificates
      now: this.d.clock.now(),
    });
  }

  /** The organization's root and issuing CA and the hub CA, creating them on first use. */
  async caBundle(orgId: string): Promise<{ root: string; issuing: string; hub: string }> {
    const issuing = await this.#ca(orgId, 'issuing');
    const root = await this.#ca(orgId, 'root');
    return { root: root.certPem, issuing: issuing.certPem, hub: await this.hubCaPem() };
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
    const active =
      device.state === 'provisioned'
        ? await this.d.devices.setState(device.orgId, device.id, 'active')
        : device;
    return this.#enrollment(active, cert);
  }

  async #issue(device: Device, csrPem: string, now: number): Promise<CertificateRecord> {
    const info = await this.d.ca.inspectCsr(csrPem);
    // Every device has its own key: a key already certified for another device is refused.
    const others = (
      await this.d.storage.pki.findLiveBySpki(device.orgId, info.spkiSha256, now)
    ).filter((c) => c.deviceId !== device.id);
    if (others.length > 0) throw new BulwarkError('key_reused');
    const issuer = await this.#ca(device.orgId, 'issuing');
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
    const v = await this.#verifyClientCertificate(certDer, rec.certPem, now);
    const cert = await this.d.storage.pki.getCertificate(v.orgId, v.serial);
    if (!cert || cert.fingerprint !== v.fingerprint)
      throw new BulwarkError('certificate_invalid', 'unknown certificate');
    if (cert.revokedAt !== null) throw new BulwarkError('certificate_revoked');
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

  /** Renews a device's certificate; the caller has authenticated with the current one. */
  async renew(device: Device, csrPem: string): Promise<Enrollment> {
    if (device.state === 'quarantined')
      throw new BulwarkError('forbidden', 'a quarantined device cannot renew its certificate');
    const now = this.d.clock.now();
    const cert = await this.#issue(device, csrPem, now);
    await this.d.storage.pki.insertCertificate(cert);
    return this.#enrollment(device, cert);
  }

  /** A device's certificates, newest first. */
  async listCertificates(orgId: string, deviceId: string): Promise<CertificateRecord[]> {
    await this.d.devices.get(orgId, deviceId);
    return this.d.storage.pki.listCertificates(orgId, deviceId);
  }

  /** Revokes a certificate at once; it is in the next CRL and refused at every connection. */
  async revoke(
    orgId: string,
    deviceId: string,
    serial: string,
    reason = 'unspecified',
  ): Promise<CertificateRecord> {
    const cert = await this.d.storage.pki.getCertificate(orgId, serial);
    if (!cert || cert.deviceId !== deviceId)
      throw new BulwarkError('not_found', 'no such certificate for this device');
    if (cert.revokedAt !== null)
      throw new BulwarkError('conflict', 'the certificate is already revoked');
    const at = this.d.clock.now();
    await this.d.storage.pki.revokeCertificate(orgId, serial, at, reason);
    const revoked = { ...cert, revokedAt: at, revocationReason: reason };
    this.#crlCache.delete(orgId);
    this.emit('certificate-revoked', revoked);
    return revoked;
  }

  /** Decommissions a device: every certificate and key revoked, state `decommissioned`. */
  async decommission(orgId: string, deviceId: string): Promise<Device> {
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.state === 'decommissioned') return device;
    for (const c of await this.d.storage.pki.listCertificates(orgId, deviceId)) {
      if (c.revokedAt === null)
        await this.revoke(orgId, deviceId, c.serial, 'cessationOfOperation');
    }
    for (const k of await this.d.storage.deviceKeys.listForDevice(orgId, deviceId)) {
      if (k.revokedAt === null) await this.revokeDeviceKey(orgId, deviceId, k.id);
    }
    return this.d.devices.setState(orgId, deviceId, 'decommissioned');
  }

  /** The organization's CRL (PEM), regenerated when a revocation happened or it nears expiry. */
  async crl(orgId: string): Promise<string> {
    const org = await this.d.storage.organizations.get(orgId);
    if (!org) throw new BulwarkError('not_found', 'no such organization');
    const now = this.d.clock.now();
    const revoked = await this.d.storage.pki.listRevoked(orgId);
    const cached = this.#crlCache.get(orgId);
    const margin = (this.d.config.crlValiditySeconds * 1000) / 4;
    if (cached && cached.revoked === revoked.length && cached.nextUpdate - margin > now)
      return cached.pem;
    const issuer = await this.#ca(orgId, 'issuing');
    const nextUpdate = now + this.d.config.crlValiditySeconds * 1000;
    const pem = await this.d.ca.createCrl(issuer, {
      entries: revoked.map((c) => ({
        serial: c.serial,
        revokedAt: c.revokedAt ?? now,
        reason: c.revocationReason ?? 'unspecified',
      })),
      crlNumber: await this.d.storage.pki.nextCrlNumber(orgId),
      thisUpdate: now,
      nextUpdate,
    });
    this.#crlCache.set(orgId, { pem, revoked: revoked.length, nextUpdate });
    return pem;
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

  /** Checks a device id + key pair (for protocols without certificates); undefined when wrong. */
  async authenticateDeviceKey(deviceId: string, presented: string): Promise<Device | undefined> {
    const hash = sha256Hex(presented);
    for (const k of await this.d.storage.deviceKeys.listLiveByDeviceId(deviceId)) {
      if (safeEqual(k.secretHash, hash)) {
        const device = await this.d.storage.devices.get(k.orgId, deviceId);
        return device && device.state !== 'decommissioned' ? device : undefined;
      }
    }
    return undefined;
  }
}
