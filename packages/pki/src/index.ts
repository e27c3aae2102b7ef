/** @bulwark/pki: the X.509 adapter for core's CertificateAuthority port. */
export { createCertificateAuthority } from './authority.js';
export { reasonCode, REASON_CODES } from './crl.js';
export { DEVICE_URN, ORG_URN } from './device-cert.js';
