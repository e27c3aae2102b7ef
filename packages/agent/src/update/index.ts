/** The device-side install core: A/B slots, the boot-control record, the install state machine. */
export * from './slots.js';
export { DirectorySlots } from './directory-slots.js';
export { MemorySlots } from './memory-slots.js';
export { UpdateClient, type UpdateClientDeps } from './update-client.js';
export type { HealthCheckFn, HealthCommand } from './health-check.js';
export type { JobContext } from './job-reporter.js';
export { Installer, type InstallerDeps } from './installer.js';
export {
  UpdateError,
  type InstallHistoryEntry,
  type InstallNext,
  type InstallRecord,
  type InstallStateName,
  type InstallStatus,
  type Release,
  type SignatureCheck,
} from './install-record.js';
