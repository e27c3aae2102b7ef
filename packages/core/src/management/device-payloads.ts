/**
 * Parsing what a device sends on its management plane (protocol device-plane.ts). Every parser
 * takes the raw MQTT payload, checks it against the message's schema in protocol (the same one
 * the agent and the AsyncAPI document use) and then the rules a schema cannot say — real dates,
 * the depth and size of free-form JSON — and returns the typed message or throws BulwarkError
 * `device_payload_invalid` naming the first problem, so the transport refuses the publish with
 * 0x99 (Payload format invalid) and nothing changes.
 */
import { Buffer } from 'node:buffer';
import {
  BulwarkError,
  CommandStatusPayload,
  DeviceEventListPayload,
  DeviceMetricsPayload,
  firstProblem,
  PresencePayload,
  ReportedTwinPayload,
  type CommandStatus,
  type DeviceEvent,
  type DeviceMetrics,
  type Presence,
  type ReportedTwin,
} from '@bulwark/protocol';
import { jsonProblem, MAX_TWIN_BYTES } from './twin-json.js';

export { MAX_EVENTS_PER_MESSAGE } from '@bulwark/protocol';

/** A payload schema of protocol's device plane. */
type Schema = Parameters<typeof firstProblem>[0];

const fail = (topic: string, why: string): never => {
  throw new BulwarkError('device_payload_invalid', `${topic}: ${why}`);
};

/** Parses a JSON payload of at most `maxBytes` (exported for the update plane's parsers). */
export function parseJsonPayload(topic: string, payload: Uint8Array, maxBytes: number): unknown {
  if (payload.byteLength > maxBytes)
    fail(topic, `payload is ${payload.byteLength} bytes; at most ${maxBytes}`);
  try {
    return JSON.parse(Buffer.from(payload).toString('utf8')) as unknown;
  } catch {
    return fail(topic, 'payload is not JSON (UTF-8)');
  }
}

/**
 * The payload parsed and checked against `schema`; `root` names a payload that is an array.
 * Exported for the update plane's parsers.
 */
export function decodePayload<T>(
  topic: string,
  schema: Schema,
  payload: Uint8Array,
  maxBytes: number,
  root?: string,
): T {
  const v = parseJsonPayload(topic, payload, maxBytes);
  const problem = firstProblem(schema, v, root);
  if (problem !== null) fail(topic, problem);
  return v as T;
}

/** A free-form JSON member within the twin's depth limit (finite numbers, JSON values only). */
function deepJson(topic: string, v: unknown, field: string): void {
  const p = jsonProblem(v, field);
  if (p !== null) fail(topic, p);
}

/** An RFC 3339 timestamp the schema's pattern let through that is not a real date. */
function realDate(topic: string, at: string, field: string): void {
  if (Number.isNaN(Date.parse(at))) fail(topic, `${field} must be an RFC 3339 timestamp`);
}

/** `twin/reported`: { version, desiredVersion, state, errors }. */
export function parseReportedTwin(payload: Uint8Array): ReportedTwin {
  const t = 'twin/reported';
  const v = decodePayload<ReportedTwin>(t, ReportedTwinPayload, payload, MAX_TWIN_BYTES);
  deepJson(t, v.state, 'state');
  return {
    version: v.version,
    desiredVersion: v.desiredVersion,
    state: v.state,
    errors: v.errors.map((e) => ({ path: e.path, message: e.message })),
  };
}

/** `commands/{id}/status`: { state: delivered|succeeded|failed, result?, error? }. */
export function parseCommandStatus(payload: Uint8Array): CommandStatus {
  const t = 'commands/{id}/status';
  const v = decodePayload<CommandStatus>(t, CommandStatusPayload, payload, MAX_TWIN_BYTES);
  if (v.result !== undefined) deepJson(t, v.result, 'result');
  return {
    state: v.state,
    ...(v.result !== undefined ? { result: v.result } : {}),
    ...(v.error !== undefined ? { error: { code: v.error.code, message: v.error.message } } : {}),
  };
}

/** `events`: an array of DeviceEvent (a single event object is accepted as a one-element array). */
export function parseDeviceEvents(payload: Uint8Array): DeviceEvent[] {
  const t = 'events';
  const v = parseJsonPayload(t, payload, MAX_TWIN_BYTES);
  const list = Array.isArray(v) ? v : [v];
  const problem = firstProblem(DeviceEventListPayload, list, 'events');
  if (problem !== null) fail(t, problem);
  return (list as DeviceEvent[]).map((e, i) => {
    realDate(t, e.at, `events[${i}].at`);
    const detail = e.detail ?? {};
    deepJson(t, detail, `events[${i}].detail`);
    return { kind: e.kind, severity: e.severity, at: e.at, detail };
  });
}

/** `metrics`: a DeviceMetrics snapshot. */
export function parseDeviceMetrics(payload: Uint8Array): DeviceMetrics {
  const t = 'metrics';
  const v = decodePayload<DeviceMetrics>(t, DeviceMetricsPayload, payload, 16 * 1024);
  realDate(t, v.at, '"at"');
  return {
    at: v.at,
    cpuPercent: v.cpuPercent,
    memory: { totalBytes: v.memory.totalBytes, availableBytes: v.memory.availableBytes },
    disk: { totalBytes: v.disk.totalBytes, availableBytes: v.disk.availableBytes },
    uptimeSeconds: v.uptimeSeconds,
    network: { rxBytes: v.network.rxBytes, txBytes: v.network.txBytes },
    listeningPorts: v.listeningPorts,
    connections: v.connections,
  };
}

/** `presence`: { online, mode? }. */
export function parsePresence(payload: Uint8Array): Presence {
  const v = decodePayload<Presence>('presence', PresencePayload, payload, 1024);
  return { online: v.online, ...(v.mode !== undefined ? { mode: v.mode } : {}) };
}
