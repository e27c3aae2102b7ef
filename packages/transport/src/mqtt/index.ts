/** The MQTT 3.1.1/5 engine of Bulwark: transport-neutral, deny-by-default, bounded. */
export { createMqttEngine } from './engine.js';
export type {
  ConnectionMeta,
  DisconnectOptions,
  InjectedMessage,
  MqttDenial,
  MqttEngine,
  MqttEngineOptions,
  MqttLogger,
  MqttStats,
  MqttStateOptions,
} from './engine-api.js';
export { DENY_ALL, MqttRefusal } from './hooks.js';
export type {
  ClientIdentity,
  ConnectInfo,
  ConnectRefusal,
  GrantedSubscription,
  InboundPublish,
  MqttHooks,
  SubscribeContext,
} from './hooks.js';
export { DEFAULT_LIMITS, resolveLimits } from './limits.js';
export type { MqttLimits } from './limits.js';
export { listenTcp, listenTls } from './listeners.js';
export type { TcpListenOptions, TlsListenOptions } from './listeners.js';
export { openModeHooks } from './open-mode.js';
export { RC as MQTT_REASON, v3ConnackCode } from './reason-codes.js';
export { ALLOWED_REASONS, reasonFor, reasonName } from './reason-map.js';
export type { ReasonPacket } from './reason-map.js';
