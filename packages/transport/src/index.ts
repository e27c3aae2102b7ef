export { createHttpApi, type HttpApiOptions } from './http/app.js';
export type { HttpServices, HandlerContext, Handlers } from './http/context.js';
export { openApiDocument } from './http/openapi.js';
export { asyncApiDocument, ASYNCAPI_VERSION } from './http/asyncapi.js';
export type { DdiDeps, DdiJobs } from './http/ddi/deps.js';
export type { Lwm2mFirmwareDownloadDeps } from './http/lwm2m-firmware.js';
export { httpStatus, normalizeError, toProblem } from './http/problem.js';
export { TLS_SERVER_POLICY } from './tls-policy.js';
export {
  attachRelay,
  isRelayPath,
  RELAY_PROTOCOL,
  RELAY_DEVICE_HEADER,
  RELAY_DEVICE_SERIAL_HEADER,
  RELAY_SECRET_HEADER,
  type RelayDeps,
} from './http/relay.js';
export { CONSOLE_CSP } from './http/console.js';
export * from './mqtt/index.js';
export * from './messaging/index.js';
export * from './coap/index.js';
export { liveView, type EventStreamSettings, type StreamCloseReason } from './http/event-stream.js';
export * from './lwm2m/index.js';
