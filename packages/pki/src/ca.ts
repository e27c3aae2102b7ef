import type { KeyedCertificate, NewCa } from '@bulwark/core';
import { toPem, randomSerial, toSeconds } from './encoding.js';
import { ECDSA_SHA256, exportPkcs8Pem, generateP256, issuerKeyId, loadIssuer } from './keys.js';
import { distinguishedName, subjectOf } from './names.js';
import { x509 } from './x509.js';

/** What a new CA is called and how long it lives. */
export interface CaOptions {
  commonName: string;
  organization: string;
  validityDays: number;
}

const DAY_MS = 86_400_000;
/** Backdating tolerates clocks that run a little behind ours (devices without RTC, NTP drift). */
export const CLOCK_SKEW_MS = 5 * 60_000;

const caKeyUsage = () =>
  // RFC 5280 §4.2.1.3: a CA key signs certificates and CRLs; the extension SHOULD be critical.
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true);

/** A self-signed root CA: ECDSA P-256, CA:true with pathLen 1 (root → issuing → device). */
export async function createRoot(opts: CaOptions, now = Date.now()): Promise<NewCa> {
  const keys = await generateP256();
  const name = distinguishedName(opts.commonName, opts.organization);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    keys,
    notBefore: new Date(toSeconds(now - CLOCK_SKEW_MS)),
    notAfter: new Date(toSeconds(now + opts.validityDays * DAY_MS)),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      // RFC 5280 §4.2.1.9: basicConstraints MUST be critical in CA certificates.
      new x509.BasicConstraintsExtension(true, 1, true),
      caKeyUsage(),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return toNewCa(cert, await exportPkcs8Pem(keys.privateKey));
}

/** An issuing CA signed by `root`: ECDSA P-256, CA:true with pathLen 0, so it signs end entities only. */
export async function createIssuing(
  root: KeyedCertificate,
  opts: CaOptions,
  now = Date.now(),
): Promise<NewCa> {
  const issuer = await loadIssuer(root);
  const keys = await generateP256();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(opts.commonName, opts.organization),
    issuer: subjectOf(issuer.cert),
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    notBefore: new Date(toSeconds(now - CLOCK_SKEW_MS)),
    // A CA cannot usefully outlive the CA above it.
    notAfter: new Date(
      Math.min(toSeconds(now + opts.validityDays * DAY_MS), issuer.cert.notAfter.getTime()),
    ),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      caKeyUsage(),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      // RFC 5280 §4.2.1.1: AKI MUST be present except in self-signed certificates.
      new x509.AuthorityKeyIdentifierExtension(await issuerKeyId(issuer.cert)),
    ],
  });
  return toNewCa(cert, await exportPkcs8Pem(keys.privateKey));
}

function toNewCa(cert: x509.X509Certificate, keyPem: string): NewCa {
  return {
    certPem: toPem(cert.rawData, 'CERTIFICATE'),
    keyPem,
    serial: cert.serialNumber,
    notAfter: cert.notAfter.getTime(),
  };
}
