/**
 * @bulwark/bus-nats: the scale-out Bus adapter on NATS JetStream.
 */
export {
  createNatsBus,
  DEFAULT_MAX_AGE_SECONDS,
  DEFAULT_STREAM,
  DEFAULT_SUBJECT_PREFIX,
  type NatsBusOptions,
} from './bus.js';
export {
  decodeEnvelope,
  encodeEnvelope,
  ENVELOPE_HEADER,
  MSG_ID_HEADER,
  subjectOf,
  type EncodedEnvelope,
} from './codec.js';
export { ensureStream, type StreamSpec } from './stream.js';
export {
  createNatsEvents,
  DEFAULT_EVENTS_PREFIX,
  DEFAULT_EVENTS_STREAM,
  type NatsEventsOptions,
} from './events.js';
export {
  connectNats,
  connectionOptions,
  DEFAULT_DEPLOYMENT_PREFIX,
  deploymentNames,
  removeDeployment,
  type DeploymentNames,
  type NatsConnectOptions,
} from './connection.js';
export {
  createNatsBlobStore,
  type NatsBlobStore,
  type NatsBlobStoreOptions,
} from './blob-store.js';
