/** DTLS 1.2 with PSK and AES-128-CCM[_8] on node:crypto (decision 0041), for CoAP over DTLS. */
export { startDtlsServer } from './server.js';
export type {
  DtlsServer,
  DtlsServerOptions,
  DtlsAuthFailure,
  DtlsSession,
  DtlsStats,
  DtlsLogger,
} from './server.js';
export type { Peer, PskEntry } from './connection.js';
export { DEFAULT_DTLS_LIMITS } from './limits.js';
export type { DtlsLimits } from './limits.js';
