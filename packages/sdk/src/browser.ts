/**
 * `@bulwark/sdk/browser`: the REST client without device-side key and CSR creation, so a web page
 * (the console, decision 0038) bundles neither @peculiar/x509 nor reflect-metadata. Everything here
 * is also exported by the package root.
 */
export { createClient, type BulwarkClient, type ClientOptions } from './client.js';
export { ApiError } from './errors.js';
export { paginate, type Page } from './paginate.js';
export type { BodyOf, Call, CallArgs, QueryOf } from './types.js';
export { parseEventStream, type StreamFrame } from './resources/events.js';
export type { LiveEvent, LiveEventType } from '@bulwark/protocol';
export {
  PERMISSIONS,
  ROLES,
  ROLE_PRESETS,
  LOCATION_KINDS,
  SCOPABLE_PERMISSIONS,
  locationChainIn,
  permissionsAt,
  scopeCovers,
} from '@bulwark/protocol/lite';
