/**
 * The cheap way to recognise a device certificate this hub issued (issue 12, decision 0022): a
 * presented DER whose SHA-256 equals the fingerprint stored with the certificate row of its serial
 * is byte for byte the certificate the organization's CA issued and the hub recorded — its device
 * and organization names, key usages and extensions are those of the row, checked when it was
 * issued. What can have changed since is checked again here: that the organization's *current*
 * issuing CA issued it (name, key identifier and signature, natively by OpenSSL) and that it is
 * within its validity and the CA's. The CA adapter's full verification (an ASN.1 parse in
 * JavaScript, ~5 ms of CPU per certificate) is then needed only for certificates this path does
 * not accept — which it goes on to refuse with a precise reason — and that matters after a
 * restart, when every device of the fleet presents its certificate to a cold process at once.
 */
import { X509Certificate } from 'node:crypto';
import type { VerifiedClientCertificate } from '../ports/pki.js';
import type { CertificateRecord } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';

/**
 * A listener that already parsed a peer's certificate (Node's `getPeerX509Certificate()`) leaves
 * the parse here, keyed by the DER it hands to admission, so the certificate is not parsed twice
 * per connect; `recognise` takes it out again. Keyed weakly by that DER array, so nothing outlives
 * the connection attempt.
 */
export const parsedPeerCertificates = new WeakMap<Uint8Array, X509Certificate>();

/** Parsed issuing CA certificates by PEM (an organization has one at a time; a few are kept). */
const ISSUERS_MAX = 64;

/** Recognises certificates issued and recorded here; `undefined` means "verify it fully". */
export class IssuedHere {
  readonly #issuers = new Map<string, { x: X509Certificate; notAfter: number }>();

  constructor(private readonly pki: Pick<Storage['pki'], 'getCertificate'>) {}

  /**
   * The verified claims and the stored row of `der` if it is a certificate of `orgId` recorded
   * here, issued by `issuerPem` and valid at `now`; else `undefined` (never a refusal).
   */
  async recognise(
    orgId: string,
    der: Uint8Array,
    fingerprint: string,
    issuerPem: string,
    now: number,
  ): Promise<{ v: VerifiedClientCertificate; cert: CertificateRecord } | undefined> {
    const issuer = this.#issuer(issuerPem);
    let x = parsedPeerCertificates.get(der);
    parsedPeerCertificates.delete(der);
    try {
      x ??= new X509Certificate(der);
    } catch {
      return undefined;
    }
    if (!issuer || !x.checkIssued(issuer.x) || !x.verify(issuer.x.publicKey)) return undefined;
    // Serials are issued as 16 random bytes in lower-case hex (pki's randomSerial).
    const cert = await this.pki.getCertificate(orgId, x.serialNumber.toLowerCase());
    if (!cert || cert.fingerprint !== fingerprint || cert.orgId !== orgId) return undefined;
    if (now < cert.notBefore || now > cert.notAfter || now > issuer.notAfter) return undefined;
    return {
      v: {
        serial: cert.serial,
        deviceId: cert.deviceId,
        orgId: cert.orgId,
        fingerprint,
        spkiSha256: cert.spkiSha256,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
      },
      cert,
    };
  }

  #issuer(pem: string): { x: X509Certificate; notAfter: number } | undefined {
    let hit = this.#issuers.get(pem);
    if (hit) return hit;
    try {
      const x = new X509Certificate(pem);
      hit = { x, notAfter: Date.parse(x.validTo) };
    } catch {
      return undefined;
    }
    if (this.#issuers.size >= ISSUERS_MAX) this.#issuers.clear();
    this.#issuers.set(pem, hit);
    return hit;
  }
}
