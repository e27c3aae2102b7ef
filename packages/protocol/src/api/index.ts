export * from './common.js';
export * from './identity.js';
export * from './devices.js';
export * from './pki.js';
export * from './audit.js';
export * from './routes.js';
export * from './channels.js';
