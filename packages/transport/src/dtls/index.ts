/**
 * DTLS 1.2 on node:crypto (decision 0041), for CoAP over DTLS: PSK with AES-128-CCM[_8], and
 * certificates with ECDHE-ECDSA (P-256) and AES-128-CCM[_8]/GCM.
 */
export { startDtlsServer } from './server.js';
export type {
  DtlsServer,
  DtlsServerOptions,
  DtlsAuthFailure,
  DtlsSession,
  DtlsStats,
  DtlsLogger,
} from './server.js';
export type { Peer, PskEntry, CertificateVerdict } from './connection.js';
export type { ServerCredential } from './ecdhe.js';
export { DEFAULT_DTLS_LIMITS } from './limits.js';
export type { DtlsLimits } from './limits.js';
