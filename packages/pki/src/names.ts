import { x509 } from './x509.js';

/**
 * A distinguished name `CN=<commonName>, O=<organization>` whose values are taken verbatim.
 * Each value is given as an explicit UTF8String (RFC 5280 §4.1.2.6): x509's string and plain-JSON
 * forms unescape backslashes, strip quotes and read a leading `#` as hex, so an id or name
 * containing those characters would otherwise be silently rewritten.
 */
export function distinguishedName(commonName: string, organization?: string): x509.Name {
  const rdns: x509.JsonAttributeAndObjectValue[] = [{ CN: [{ utf8String: commonName }] }];
  if (organization !== undefined) rdns.push({ O: [{ utf8String: organization }] });
  return new x509.Name(rdns);
}

/** The issuer field for a certificate or CRL: the exact DER of the issuer's subject (§4.1.2.4). */
export function subjectOf(cert: x509.X509Certificate): x509.Name {
  return new x509.Name(cert.subjectName.toArrayBuffer());
}

/** Do two names have identical DER encodings? */
export function sameName(a: x509.Name, b: x509.Name): boolean {
  return Buffer.from(a.toArrayBuffer()).equals(Buffer.from(b.toArrayBuffer()));
}
