/**
 * `@bulwark/protocol/lite`: the parts of the wire contract that need no schema library — error
 * codes, the API's enumerations, update-job states and each route's method and path. Clients that
 * only send requests (the SDK, the CLI) import this, so starting them does not build the TypeBox
 * schemas of every route (decision 0029). Everything here is also exported by the package root.
 */
export * from './errors.js';
export * from './updates.js';
export * from './api/enums.js';
export * from './api/scopes.js';
export * from './device-logs.js';
export { ROUTE_WIRE, type WireRoute } from './api/route-wire.js';
