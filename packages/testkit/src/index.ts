/**
 * @bulwark/testkit: the contract suites every port's adapters must pass, plus test helpers.
 */
export {
  storageContract,
  type OpenStorage,
  type StorageContractOptions,
} from './storage-contract/index.js';
export {
  DEFAULT_POSTGRES_TEST_URL,
  postgresTestUrl,
  probePostgres,
  requirePostgres,
  withPostgresSchemas,
  type PostgresSchemas,
} from './postgres.js';
export {
  busContract,
  DEFAULT_NATS_TEST_URL,
  inProcessNodes,
  natsTestUrl,
  probeNats,
  requireNats,
  type BusContractOptions,
  type BusHooks,
  type OpenBus,
} from './bus-contract.js';
export { blobStoreContract, chunked, readAll, type OpenBlobStore } from './blob-contract.js';
/** Record fixtures of the storage contract, for tests that seed real stores (e.g. audit checks). */
export {
  T0,
  orgFx,
  userFx,
  membershipFx,
  apiKeyFx,
  deviceFx,
  certFx,
  channelFx,
  connectionFx,
  locationFx,
} from './storage-contract/fixtures.js';
export { ruleFx } from './storage-contract/rules.js';
