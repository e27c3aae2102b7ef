import type { CrlEntry, KeyedCertificate } from '@bulwark/core';
import { derInteger, normalizeSerial, toPem } from './encoding.js';
import { ECDSA_SHA256, issuerKeyId, loadIssuer } from './keys.js';
import { subjectOf } from './names.js';
import { x509 } from './x509.js';

/** What goes into a CRL. */
export interface CrlRequest {
  entries: CrlEntry[];
  crlNumber: number;
  thisUpdate: number;
  nextUpdate: number;
}

/** RFC 5280 §5.2.3 cRLNumber. */
const ID_CE_CRL_NUMBER = '2.5.29.20';
/** RFC 5280 §5.3.1 reasonCode. */
const ID_CE_CRL_REASONS = '2.5.29.21';
/** DER ENUMERATED 0: CRLReason `unspecified`. */
const UNSPECIFIED_REASON_DER = Uint8Array.of(0x0a, 0x01, 0x00);

/** RFC 5280 §5.3.1 CRLReason codes for the reason strings core records. */
export const REASON_CODES: Readonly<Record<string, x509.X509CrlReason>> = {
  unspecified: x509.X509CrlReason.unspecified,
  keyCompromise: x509.X509CrlReason.keyCompromise,
  affiliationChanged: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
};

/** The RFC 5280 reason code for a reason string; anything unknown is `unspecified`. */
export function reasonCode(reason: string): x509.X509CrlReason {
  return Object.hasOwn(REASON_CODES, reason)
    ? (REASON_CODES[reason] ?? 0)
    : x509.X509CrlReason.unspecified;
}

/**
 * An X.509 v2 CRL (RFC 5280 §5) signed by `issuer`, as PEM: cRLNumber and AKI extensions, and one
 * entry per revoked serial with its revocation date and reason code.
 */
export async function createCrl(issuer: KeyedCertificate, req: CrlRequest): Promise<string> {
  const ca = await loadIssuer(issuer);
  const crl = await x509.X509CrlGenerator.create({
    issuer: subjectOf(ca.cert),
    thisUpdate: new Date(req.thisUpdate),
    nextUpdate: new Date(req.nextUpdate),
    signingAlgorithm: ECDSA_SHA256,
    signingKey: ca.key,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(await issuerKeyId(ca.cert)),
      new x509.Extension(ID_CE_CRL_NUMBER, false, derInteger(req.crlNumber)),
    ],
    entries: req.entries.map((e) => {
      const entry = {
        serialNumber: normalizeSerial(e.serial),
        revocationDate: new Date(e.revokedAt),
      };
      const reason = reasonCode(e.reason);
      if (reason !== x509.X509CrlReason.unspecified) return { ...entry, reason };
      // §5.3.1 would leave `unspecified` out, but x509 2.x then writes an empty
      // crlEntryExtensions SEQUENCE, which §5.1 forbids (SIZE (1..MAX)); an explicit code 0 is
      // valid DER and means the same.
      return {
        ...entry,
        extensions: [new x509.Extension(ID_CE_CRL_REASONS, false, UNSPECIFIED_REASON_DER)],
      };
    }),
  });
  return toPem(crl.rawData, 'X509 CRL');
}
