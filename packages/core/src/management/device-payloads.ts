/**
 * Parsing what a device sends on its management plane (protocol device-plane.ts). Every parser
 * takes the raw MQTT payload and returns the typed message or throws BulwarkError
 * `device_payload_invalid` naming the first problem, so the transport refuses the publish with
 * 0x99 (Payload format invalid) and nothing changes.
 */
import { Buffer } from 'node:buffer';
import {
  BulwarkError,
  type CommandStatus,
  type DeviceEvent,
  type DeviceMetrics,
  type Presence,
  type ReportedTwin,
  type TwinError,
  type TwinValue,
} from '@bulwark/protocol';
import { isObject, jsonProblem, MAX_TWIN_BYTES } from './twin-json.js';

/** Most events one `events` message may carry. */
export const MAX_EVENTS_PER_MESSAGE = 100;

const fail = (topic: string, why: string): never => {
  throw new BulwarkError('device_payload_invalid', `${topic}: ${why}`);
};

/** Parses a JSON payload of at most `maxBytes`. */
function parseJson(topic: string, payload: Uint8Array, maxBytes = MAX_TWIN_BYTES): unknown {
  if (payload.byteLength > maxBytes)
    fail(topic, `payload is ${payload.byteLength} bytes; at most ${maxBytes}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return fail(topic, 'payload is not JSON (UTF-8)');
  }
  return v;
}

/** Checks `o` has only the `allowed` keys. */
function onlyKeys(topic: string, o: { [k: string]: unknown }, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(topic, `unknown field "${k}"`);
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNonNeg = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isRfc3339 = (v: unknown): v is string =>
  typeof v === 'string' &&
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) &&
  !Number.isNaN(Date.parse(v));

function jsonObject(topic: string, v: unknown, field: string): { [key: string]: TwinValue } {
  if (!isObject(v)) return fail(topic, `"${field}" must be a JSON object`);
  const p = jsonProblem(v, field);
  if (p !== null) fail(topic, p);
  return v as { [key: string]: TwinValue };
}

/** `twin/reported`: { version, desiredVersion, state, errors }. */
export function parseReportedTwin(payload: Uint8Array): ReportedTwin {
  const t = 'twin/reported';
  const v = parseJson(t, payload);
  if (!isObject(v)) return fail(t, 'must be a JSON object');
  onlyKeys(t, v, ['version', 'desiredVersion', 'state', 'errors']);
  if (!isCount(v['version'])) fail(t, '"version" must be a non-negative integer');
  if (!isCount(v['desiredVersion'])) fail(t, '"desiredVersion" must be a non-negative integer');
  const state = jsonObject(t, v['state'], 'state');
  const errors = v['errors'];
  if (!Array.isArray(errors)) return fail(t, '"errors" must be an array');
  if (errors.length > 1000) fail(t, '"errors" has more than 1000 entries');
  const errs: TwinError[] = errors.map((e, i) => {
    if (!isObject(e) || typeof e['path'] !== 'string' || typeof e['message'] !== 'string')
      return fail(t, `errors[${i}] must be { path: string, message: string }`);
    onlyKeys(t, e, ['path', 'message']);
    return { path: e['path'], message: e['message'] };
  });
  return {
    version: v['version'] as number,
    desiredVersion: v['desiredVersion'] as number,
    state,
    errors: errs,
  };
}

/** `commands/{id}/status`: { state: delivered|succeeded|failed, result?, error? }. */
export function parseCommandStatus(payload: Uint8Array): CommandStatus {
  const t = 'commands/{id}/status';
  const v = parseJson(t, payload);
  if (!isObject(v)) return fail(t, 'must be a JSON object');
  onlyKeys(t, v, ['state', 'result', 'error']);
  const state = v['state'];
  if (state !== 'delivered' && state !== 'succeeded' && state !== 'failed')
    return fail(t, '"state" must be "delivered", "succeeded" or "failed"');
  const out: CommandStatus = { state };
  if (v['result'] !== undefined) out.result = jsonObject(t, v['result'], 'result');
  const e = v['error'];
  if (e !== undefined) {
    if (!isObject(e) || typeof e['code'] !== 'string' || typeof e['message'] !== 'string')
      return fail(t, '"error" must be { code: string, message: string }');
    onlyKeys(t, e, ['code', 'message']);
    if (e['code'].length > 64 || e['message'].length > 2048)
      fail(t, '"error" code ≤ 64 and message ≤ 2048 characters');
    out.error = { code: e['code'], message: e['message'] };
  }
  return out;
}

/** `events`: an array of DeviceEvent (a single event object is accepted as a one-element array). */
export function parseDeviceEvents(payload: Uint8Array): DeviceEvent[] {
  const t = 'events';
  const v = parseJson(t, payload);
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) fail(t, 'no events');
  if (list.length > MAX_EVENTS_PER_MESSAGE)
    fail(t, `more than ${MAX_EVENTS_PER_MESSAGE} events in one message`);
  return list.map((e, i) => {
    const w = `events[${i}]`;
    if (!isObject(e)) return fail(t, `${w} must be a JSON object`);
    onlyKeys(t, e, ['kind', 'severity', 'at', 'detail']);
    const kind = e['kind'];
    if (typeof kind !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(kind))
      return fail(t, `${w}.kind must be a name of 1-64 letters, digits, _.:-`);
    const severity = e['severity'];
    if (severity !== 'info' && severity !== 'warning' && severity !== 'critical')
      return fail(t, `${w}.severity must be "info", "warning" or "critical"`);
    if (!isRfc3339(e['at'])) return fail(t, `${w}.at must be an RFC 3339 timestamp`);
    const detail = e['detail'] === undefined ? {} : jsonObject(t, e['detail'], `${w}.detail`);
    return { kind, severity, at: e['at'], detail };
  });
}

/** `metrics`: a DeviceMetrics snapshot. */
export function parseDeviceMetrics(payload: Uint8Array): DeviceMetrics {
  const t = 'metrics';
  const v = parseJson(t, payload, 16 * 1024);
  if (!isObject(v)) return fail(t, 'must be a JSON object');
  onlyKeys(t, v, [
    'at',
    'cpuPercent',
    'memory',
    'disk',
    'uptimeSeconds',
    'network',
    'listeningPorts',
    'connections',
  ]);
  if (!isRfc3339(v['at'])) fail(t, '"at" must be an RFC 3339 timestamp');
  if (!isNonNeg(v['cpuPercent'])) fail(t, '"cpuPercent" must be a number ≥ 0');
  if (!isNonNeg(v['uptimeSeconds'])) fail(t, '"uptimeSeconds" must be a number ≥ 0');
  if (!isCount(v['connections'])) fail(t, '"connections" must be a non-negative integer');
  const pair = (field: string, a: string, b: string): { [k: string]: number } => {
    const o = v[field];
    if (!isObject(o) || !isNonNeg(o[a]) || !isNonNeg(o[b]))
      return fail(t, `"${field}" must be { ${a}, ${b} } of numbers ≥ 0`);
    onlyKeys(t, o, [a, b]);
    return { [a]: o[a], [b]: o[b] };
  };
  const memory = pair('memory', 'totalBytes', 'availableBytes');
  const disk = pair('disk', 'totalBytes', 'availableBytes');
  const network = pair('network', 'rxBytes', 'txBytes');
  const ports = v['listeningPorts'];
  if (
    !Array.isArray(ports) ||
    ports.length > 1024 ||
    !ports.every((p) => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535)
  )
    fail(t, '"listeningPorts" must be an array of at most 1024 port numbers');
  return {
    at: v['at'] as string,
    cpuPercent: v['cpuPercent'] as number,
    memory: memory as DeviceMetrics['memory'],
    disk: disk as DeviceMetrics['disk'],
    uptimeSeconds: v['uptimeSeconds'] as number,
    network: network as DeviceMetrics['network'],
    listeningPorts: ports as number[],
    connections: v['connections'] as number,
  };
}

/** `presence`: { online, mode? }. */
export function parsePresence(payload: Uint8Array): Presence {
  const t = 'presence';
  const v = parseJson(t, payload, 1024);
  if (!isObject(v)) return fail(t, 'must be a JSON object');
  onlyKeys(t, v, ['online', 'mode']);
  if (typeof v['online'] !== 'boolean') fail(t, '"online" must be true or false');
  const mode = v['mode'];
  if (mode !== undefined && mode !== 'autonomous' && mode !== 'controlled')
    fail(t, '"mode" must be "autonomous" or "controlled"');
  return {
    online: v['online'] as boolean,
    ...(mode !== undefined ? { mode: mode as 'autonomous' | 'controlled' } : {}),
  };
}
