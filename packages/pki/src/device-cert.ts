import { BulwarkError } from '@bulwark/protocol';
import type { IssuedCertificate, KeyedCertificate } from '@bulwark/core';
import { CLOCK_SKEW_MS } from './ca.js';
import { checkCsr } from './csr.js';
import { toPem, randomSerial, sha256Hex, toSeconds } from './encoding.js';
import { algorithmName, ECDSA_SHA256, issuerKeyId, loadIssuer } from './keys.js';
import { distinguishedName, subjectOf } from './names.js';
import { x509 } from './x509.js';

/** The URI SAN prefix naming a device (`urn:bulwark:device:{deviceId}`). */
export const DEVICE_URN = 'urn:bulwark:device:';
/** The URI SAN prefix naming an organization (`urn:bulwark:org:{orgId}`). */
export const ORG_URN = 'urn:bulwark:org:';

/** What a device certificate is for. */
export interface DeviceCertRequest {
  csrPem: string;
  deviceId: string;
  orgId: string;
  validityDays: number;
  now: number;
}

const DAY_MS = 86_400_000;
/** RFC 3986 §2.3 unreserved characters: an id made of them needs no escaping inside a URN. */
const URN_SAFE_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/**
 * Issues a device certificate for the CSR's key (the CSR is checked again here, so no caller can
 * skip it): subject CN=deviceId, O=orgId; URI SANs naming the device and organization; clientAuth
 * (it calls home with mTLS) and serverAuth (it serves its local management port with the same key).
 * With only URI SANs and no DNS names, it can't pass as any host name.
 */
export async function issueDeviceCertificate(
  issuer: KeyedCertificate,
  req: DeviceCertRequest,
): Promise<IssuedCertificate> {
  for (const [field, id] of [
    ['deviceId', req.deviceId],
    ['orgId', req.orgId],
  ] as const) {
    if (!URN_SAFE_ID.test(id))
      throw new BulwarkError('validation_failed', `${field} "${id}" cannot be put in a URN`);
  }
  const { csr, info } = await checkCsr(req.csrPem);
  const ca = await loadIssuer(issuer);
  const isEc = algorithmName(csr.publicKey.algorithm) === 'ECDSA';
  const usage = x509.KeyUsageFlags.digitalSignature | (isEc ? x509.KeyUsageFlags.keyAgreement : 0);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(req.deviceId, req.orgId),
    issuer: subjectOf(ca.cert),
    publicKey: csr.publicKey,
    signingKey: ca.key,
    notBefore: new Date(toSeconds(req.now - CLOCK_SKEW_MS)),
    // Never past the issuing CA: the chain would stop validating first anyway.
    notAfter: new Date(
      Math.min(toSeconds(req.now + req.validityDays * DAY_MS), ca.cert.notAfter.getTime()),
    ),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.clientAuth,
        x509.ExtendedKeyUsage.serverAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `${DEVICE_URN}${req.deviceId}` },
        { type: 'url', value: `${ORG_URN}${req.orgId}` },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      new x509.AuthorityKeyIdentifierExtension(await issuerKeyId(ca.cert)),
    ],
  });
  return {
    certPem: toPem(cert.rawData, 'CERTIFICATE'),
    serial: cert.serialNumber,
    fingerprint: sha256Hex(cert.rawData),
    spkiSha256: info.spkiSha256,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
  };
}
