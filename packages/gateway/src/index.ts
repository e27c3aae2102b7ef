/** The Bulwark gateway (site controller), decision 0040. */
export { runGatewayCommand } from './command.js';
export { Gateway, type GatewayLog, type GatewayStatus } from './gateway.js';
export {
  GatewayConfigError,
  loadGatewayConfig,
  parseGatewayConfig,
  type GatewayConfig,
} from './config.js';
export { UplinkQueue, QueueFullError, type NewMessage, type QueuedMessage } from './queue.js';
export { Forwarder, type ForwarderOptions } from './forwarder.js';
export { SiteSync, type Site, type SiteDevice } from './site.js';
export { gatewayHooks, startLocalBroker, type LocalBroker } from './broker.js';
export {
  FirmwareCache,
  CacheError,
  ARTIFACT_ID,
  type ArtifactSource,
  type ArtifactFacts,
  type Lease,
} from './firmware-cache.js';
export { FirmwareCacheService, type FirmwareCacheStatus } from './firmware-cache-service.js';
export { startFirmwareServer, admittedDevice, type FirmwareServer } from './firmware-server.js';
export { hubArtifactSource } from './firmware-upstream.js';
