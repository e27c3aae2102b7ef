export * from './errors.js';
export * from './api/index.js';
export * from './topics.js';
export * from './device-plane.js';
export * from './updates.js';
export * from './versions.js';
export * from './tls.js';
