/** The CoAP adapter of Bulwark: ingest and Observe subscriptions on UDP, transport-neutral of the hub. */
export { startCoapServer } from './server.js';
export type { CoapServerOptions } from './server.js';
export { startCoapsServer } from './coaps.js';
export type { CoapsServer, CoapsServerOptions } from './coaps.js';
export { DEFAULT_DTLS_LIMITS } from '../dtls/index.js';
export type {
  CertificateVerdict,
  DtlsAuthFailure,
  DtlsLimits,
  DtlsStats,
  ServerCredential,
} from '../dtls/index.js';
export type {
  CoapClient,
  CoapHooks,
  CoapLogger,
  CoapInbound,
  CoapMessage,
  CoapServer,
  CoapStats,
} from './hooks.js';
export { DEFAULT_COAP_LIMITS, resolveCoapLimits } from './limits.js';
export type { CoapLimits } from './limits.js';
export { contentFormatOf, contentTypeOf } from './content-format.js';
export { coapReply, CoapFault } from './status.js';
export type { CoapFaultCode, CoapReply } from './status.js';
