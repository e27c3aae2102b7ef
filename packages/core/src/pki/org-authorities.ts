/**
 * The certificate authorities the hub keeps: per organization a root and an issuing CA, and the
 * hub's own CA for its TLS server certificate. Private keys are sealed with the master key and
 * opened only here, to sign certificates, CRLs and access tickets.
 */
import { sign as cryptoSign } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { CertificateAuthority, KeyedCertificate } from '../ports/pki.js';
import { HUB_SCOPE, type CaRecord, type CaRole } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { SecretBox } from '../shared/secret-box.js';

const KEY_CONTEXT = (scope: string, role: CaRole) => `ca-key:${scope}:${role}`;

/** The CAs of every scope, made on first use, and the CRLs they sign. */
export class OrgAuthorities {
  readonly #crlCache = new Map<string, { pem: string; revoked: number; nextUpdate: number }>();

  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      box: SecretBox;
      ca: CertificateAuthority;
      config: { rootCaDays: number; issuingCaDays: number; crlValiditySeconds: number };
    },
  ) {}

  /** The CA of a scope and role, made on first use (race-safe across hub nodes). */
  async get(scope: string, role: CaRole): Promise<KeyedCertificate & { record: CaRecord }> {
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
          : await this.d.ca.createIssuing(await this.get(scope, 'root'), {
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
    return (await this.get(HUB_SCOPE, 'root')).certPem;
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
    const issuer = await this.get(orgId, 'issuing');
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
    const issuer = await this.get(HUB_SCOPE, 'root');
    return this.d.ca.issueServerCertificate(issuer, {
      commonName: names.dnsNames[0] ?? 'bulwark-hub',
      ...names,
      validityDays: 397, // the CA/B Forum's cap for server certificates
      now: this.d.clock.now(),
    });
  }

  /** The organization's root and issuing CA and the hub CA, creating them on first use. */
  async caBundle(orgId: string): Promise<{ root: string; issuing: string; hub: string }> {
    const issuing = await this.get(orgId, 'issuing');
    const root = await this.get(orgId, 'root');
    return { root: root.certPem, issuing: issuing.certPem, hub: await this.hubCaPem() };
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
    const issuer = await this.get(orgId, 'issuing');
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

  /** Forgets the cached CRL of the organization (a certificate was revoked). */
  crlChanged(orgId: string): void {
    this.#crlCache.delete(orgId);
  }
}
