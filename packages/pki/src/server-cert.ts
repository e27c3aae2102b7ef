import { BulwarkError } from '@bulwark/protocol';
import type { KeyedCertificate } from '@bulwark/core';
import { CLOCK_SKEW_MS } from './ca.js';
import { toPem, randomSerial, toSeconds } from './encoding.js';
import { ECDSA_SHA256, exportPkcs8Pem, generateP256, issuerKeyId, loadIssuer } from './keys.js';
import { distinguishedName, subjectOf } from './names.js';
import { x509 } from './x509.js';

/** What a TLS server certificate is for. */
export interface ServerCertRequest {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  validityDays: number;
  now: number;
}

const DAY_MS = 86_400_000;
/** RFC 1035 §2.3.1 labels, optionally behind one leading wildcard label (RFC 6125 §6.4.3). */
const DNS_NAME =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;

/**
 * Issues a TLS server certificate with a fresh ECDSA P-256 key: dNSName and iPAddress SANs
 * (RFC 5280 §4.2.1.6; TLS clients match only these, RFC 6125 §6.4.4), serverAuth, not a CA.
 */
export async function issueServerCertificate(
  issuer: KeyedCertificate,
  req: ServerCertRequest,
): Promise<KeyedCertificate & { notAfter: number }> {
  const names: x509.JsonGeneralName[] = [];
  for (const dns of req.dnsNames) {
    if (!DNS_NAME.test(dns) || dns.length > 253)
      throw new BulwarkError('validation_failed', `"${dns}" is not a DNS name`);
    names.push({ type: 'dns', value: dns });
  }
  for (const ip of req.ipAddresses) {
    if (!IPV4.test(ip) && !(ip.includes(':') && IPV6_CHARS.test(ip))) {
      throw new BulwarkError('validation_failed', `"${ip}" is not an IP address`);
    }
    names.push({ type: 'ip', value: ip });
  }
  if (names.length === 0)
    throw new BulwarkError(
      'validation_failed',
      'a server certificate needs a DNS name or an IP address',
    );
  const ca = await loadIssuer(issuer);
  const keys = await generateP256();
  let san: x509.SubjectAlternativeNameExtension;
  try {
    san = new x509.SubjectAlternativeNameExtension(names);
  } catch (cause) {
    throw new BulwarkError('validation_failed', 'an IP address could not be encoded', { cause });
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(req.commonName),
    issuer: subjectOf(ca.cert),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    notBefore: new Date(toSeconds(req.now - CLOCK_SKEW_MS)),
    notAfter: new Date(
      Math.min(toSeconds(req.now + req.validityDays * DAY_MS), ca.cert.notAfter.getTime()),
    ),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      san,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(await issuerKeyId(ca.cert)),
    ],
  });
  return {
    certPem: toPem(cert.rawData, 'CERTIFICATE'),
    keyPem: await exportPkcs8Pem(keys.privateKey),
    notAfter: cert.notAfter.getTime(),
  };
}
