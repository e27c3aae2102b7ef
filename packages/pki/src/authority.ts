import type { CertificateAuthority } from '@bulwark/core';
import { createIssuing, createRoot } from './ca.js';
import { checkCsr } from './csr.js';
import { createCrl } from './crl.js';
import { issueDeviceCertificate } from './device-cert.js';
import { issueServerCertificate } from './server-cert.js';
import { verifyClientCertificate } from './verify.js';

/** Core's CertificateAuthority port on @peculiar/x509 and WebCrypto: ECDSA P-256 CAs, ecdsa-with-SHA256. */
export function createCertificateAuthority(): CertificateAuthority {
  return {
    createRoot: (opts) => createRoot(opts),
    createIssuing: (root, opts) => createIssuing(root, opts),
    inspectCsr: async (csrPem) => (await checkCsr(csrPem)).info,
    issueDeviceCertificate,
    issueServerCertificate,
    createCrl,
    verifyClientCertificate,
  };
}
