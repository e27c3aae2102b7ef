/** Device health and security: /proc metrics (`LinuxSystem`) and the connection allowlist watcher. */
export { LinuxSystem, type LinuxSystemOptions } from './linux-system.js';
export { ConnectionWatcher, type ConnectionWatcherOptions } from './connection-watcher.js';
export { parseAllowlist, parseAllowRule, isAllowed, type AllowRule } from './allowlist.js';
