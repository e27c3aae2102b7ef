import { BulwarkError } from '@bulwark/protocol';
import type { VerifiedClientCertificate } from '@bulwark/core';
import { DEVICE_URN, ORG_URN } from './device-cert.js';
import { ownBytes, sha256Hex } from './encoding.js';
import { sameName } from './names.js';
import { x509 } from './x509.js';

/** Extensions this verifier understands; any other extension marked critical is refused (RFC 5280 §4.2). */
const KNOWN_EXTENSIONS = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage
]);

const invalid = (detail: string, cause?: unknown): BulwarkError =>
  new BulwarkError('certificate_invalid', detail, cause === undefined ? {} : { cause });

/**
 * Checks a presented client certificate against the issuing CA: issuer name, signature, validity at
 * `now`, end entity for clientAuth, and the device and organization named in its URI SANs.
 * @throws BulwarkError certificate_invalid (or certificate_expired), with a detail saying which
 *   check failed
 */
export async function verifyClientCertificate(
  presented: string | Uint8Array,
  issuerCertPem: string,
  now: number,
): Promise<VerifiedClientCertificate> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(
      typeof presented === 'string' ? presented : ownBytes(presented),
    );
  } catch (cause) {
    throw invalid('the certificate could not be parsed', cause);
  }
  let issuer: x509.X509Certificate;
  try {
    issuer = new x509.X509Certificate(issuerCertPem);
  } catch (cause) {
    throw new BulwarkError('internal_error', 'the issuing CA certificate cannot be read', {
      cause,
    });
  }

  if (!sameName(cert.issuerName, issuer.subjectName)) {
    throw invalid(
      `wrong issuer: the certificate was issued by "${cert.issuer}", not by "${issuer.subject}"`,
    );
  }
  let signed: boolean;
  try {
    signed = await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch (cause) {
    throw invalid('bad signature: the certificate signature cannot be checked', cause);
  }
  if (!signed) throw invalid('bad signature: the certificate was not signed by the issuing CA');

  const { notBefore, notAfter } = cert;
  const expired = (detail: string) => new BulwarkError('certificate_expired', detail);
  if (now < notBefore.getTime())
    throw expired(`not yet valid: the certificate is valid from ${notBefore.toISOString()}`);
  if (now > notAfter.getTime())
    throw expired(`expired: the certificate expired at ${notAfter.toISOString()}`);
  if (now > issuer.notAfter.getTime())
    throw expired(`expired: the issuing CA expired at ${issuer.notAfter.toISOString()}`);

  const { deviceId, orgId } = deviceClaims(cert);
  return {
    serial: cert.serialNumber,
    deviceId,
    orgId,
    fingerprint: sha256Hex(cert.rawData),
    spkiSha256: sha256Hex(cert.publicKey.rawData),
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime(),
  };
}

/** The end-entity and client-auth checks, then the device and organization ids from the URI SANs. */
function deviceClaims(cert: x509.X509Certificate): { deviceId: string; orgId: string } {
  const notDevice = (why: string) => invalid(`not a device certificate: ${why}`);
  for (const ext of cert.extensions) {
    if (ext.critical && !KNOWN_EXTENSIONS.has(ext.type))
      throw notDevice(`unknown critical extension ${ext.type}`);
  }
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca)
    throw notDevice('it is a CA certificate');
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    throw notDevice('its key usage lacks digitalSignature');
  }
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku?.usages.includes(x509.ExtendedKeyUsage.clientAuth))
    throw notDevice('it is not meant for client authentication');
  const uris = (cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [])
    .filter((n) => n.type === 'url')
    .map((n) => n.value);
  const one = (prefix: string): string => {
    const found = uris.filter((u) => u.startsWith(prefix) && u.length > prefix.length);
    if (found.length !== 1)
      throw notDevice(`it needs exactly one ${prefix} URI name, has ${found.length}`);
    return (found[0] ?? '').slice(prefix.length);
  };
  return { deviceId: one(DEVICE_URN), orgId: one(ORG_URN) };
}
