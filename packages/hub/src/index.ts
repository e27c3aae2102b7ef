export { runLocalCommand } from './commands/index.js';
export { startHub, masterKeyPath, type Hub, type HubOptions } from './hub.js';
export type { TlsReload } from './tls-reload.js';
export { loadConfig, configHelp, ConfigError, CONFIG_FIELDS, type HubConfig } from './config.js';
export { createServices, type HubServices } from './services.js';
export type { RuntimeInfo } from './runtime-file.js';
export { VERSION } from './version.js';
export { loadServerTls, hostNames, TlsFileError, type ServerTls } from './server-tls.js';
export { errorsReference, configReference } from './reference-docs.js';
