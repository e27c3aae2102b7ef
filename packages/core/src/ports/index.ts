export type * from './records.js';
export { HUB_SCOPE } from './records.js';
export type * from './storage.js';
export type * from './pki.js';
export type * from './tokens.js';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export type * from './messaging.js';
