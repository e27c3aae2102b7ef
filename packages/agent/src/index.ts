/** The Bulwark device agent: its command-line entry points and the pieces the simulator reuses. */
export { runAgentCommand } from './commands/index.js';
export type * from './ports.js';
export { Agent, type AgentDeps, type AgentStatus, type PublishErrorCode } from './agent.js';
export {
  parseAgentConfig,
  loadAgentConfig,
  AgentConfigError,
  type AgentConfig,
  type AutonomousRule,
} from './config.js';
export { DirFiles } from './files/dir-files.js';
export { MemoryFiles } from './files/memory-files.js';
export type { SectionHandler, ParamSpec } from './runtime/twin.js';
export type { CommandHandler, CommandContext } from './runtime/commands.js';
export { CommandError } from './runtime/commands.js';
export type { CertificateAuthority, IdentityMaterial } from './runtime/identity.js';
export { SyntheticSystem, type SyntheticFigures } from './sim/synthetic-system.js';
export * from './local/index.js';
export { Simulator, type SimulatorOptions, type SimDevice } from './sim/simulator.js';
export {
  DirectorySlots,
  MemorySlots,
  UpdateClient,
  type HealthCheckFn,
  type SlotStore,
} from './update/index.js';
export { ApplicationSlots } from './boot/app-slots.js';
export { EnvSlots, grubEnv, ubootEnv, type EnvBackend } from './boot/env-slots.js';
export { RaucSlots } from './boot/rauc-slots.js';
export { openBootIntegration, type BootIntegration } from './boot/open-slots.js';
export { setupSlots, type SetupCheck } from './boot/setup.js';
export type { UpdateConfig, UpdateMode } from './update/update-config.js';
export { httpsFetch } from './runtime/https-fetch.js';
export {
  discoverDevices,
  MdnsAnnouncer,
  type DiscoveredDevice,
  type DiscoverOptions,
} from './discovery/index.js';
export { runWorker, type WorkerExtension } from './worker.js';
export { runSupervisor } from './supervisor.js';
