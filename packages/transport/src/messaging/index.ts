export {
  hubMqttHooks,
  type DevicePlaneHook,
  type HubClient,
  type MqttHookServices,
} from './mqtt-hooks.js';
export { admissionConnectCode } from './admission-codes.js';
export { coapLiveSessions, hubCoapHooks, subjectOrganization } from './coap-hooks.js';
export { mqttLiveSessions } from './mqtt-live-sessions.js';
export { mqttDeviceLink, mqttDevicePlaneHook } from './mqtt-device-link.js';
export { listenMqttTls, type MqttTlsListener, type MqttTlsOptions } from './mqtt-tls.js';
export {
  ConnectionGate,
  DEFAULT_GATE_LIMITS,
  type ConnectionGateLimits,
  type GateStats,
} from './connection-gate.js';
export { mqttReasonCode } from './reason-codes.js';
export { attachMqttWebSocket } from './mqtt-ws.js';
