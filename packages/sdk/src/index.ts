/**
 * @bulwark/sdk: a typed, browser-safe client of the Bulwark REST API, driven by the route table in
 * @bulwark/protocol, plus device-side key and CSR generation.
 */
export { createClient, type BulwarkClient, type ClientOptions } from './client.js';
export { createCall, fillPath, toQueryString, type CallOptions } from './call.js';
export { ApiError } from './errors.js';
export { paginate, type Page } from './paginate.js';
export type { RevocationReason } from './resources/devices.js';
export {
  CommandWaitTimeout,
  isCommandDone,
  TERMINAL_COMMAND_STATES,
  type WaitOptions,
} from './resources/management.js';
export { UpdateWaitTimeout } from './resources/updates.js';
export { parseEventStream, type StreamFrame } from './resources/events.js';
export type { BodyOf, Call, CallArgs, QueryOf } from './types.js';
export * from './csr.js';
