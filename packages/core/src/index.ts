export * from './ports/index.js';
export * from './shared/ids.js';
export * from './shared/hash.js';
export * from './shared/secret-box.js';
