/**
 * The device plane through a gateway (decision 0040, amendment "device plane"). Three messages on
 * the gateway's own device plane, beside the uplink of `gateway-uplink.ts`:
 *
 * - `$devices/{gatewayId}/sessions` (gateway → hub, QoS 1): the site devices connected to the
 *   gateway's local broker now, each with the hub messages its subscriptions take — a complete
 *   snapshot, sent on every change and after every (re)connect; the hub opens, updates and closes
 *   one device-plane session per device from it.
 * - `$devices/{gatewayId}/downlink/{deviceId}/{rest}` (hub → gateway, QoS 1): a hub message for
 *   site device `deviceId` (its desired twin, a command, an update offer or cancel, a tunnel offer),
 *   `rest` being the levels of the device's own topic (`twin/desired`, `commands/{id}`,
 *   `updates/{jobId}`, `tunnels/{sessionId}`) and
 *   the payload the one the device would get on `$devices/{deviceId}/{rest}`.
 * - uplink batch messages with `plane` (gateway → hub): what a site device published on its own
 *   plane (reported twin, command and update statuses, events, logs, metrics, firmware), in the
 *   durable queue's order.
 */
import { BulwarkError } from './errors.js';
import { DEVICE_PLANE, parseDevicePlaneTopic, type DevicePlaneKind } from './device-topics.js';

/** The gateway's snapshot of its devices' sessions (a level of its own device plane). */
export const GATEWAY_SESSIONS = 'sessions';
/** The first level of hub → site device messages on the gateway's own plane. */
export const GATEWAY_DOWNLINK = 'downlink';
/** A snapshot names at most this many devices (a site's bound, decision 0040). */
export const MAX_GATEWAY_SESSIONS = 10_000;

/**
 * The hub messages a gateway relays to its devices. Tunnel offers (decision 0042, "through a
 * gateway") are handed on at once and never held: an offer is only good while its relay session
 * waits for its legs.
 */
export const RELAYED_KINDS: readonly DevicePlaneKind[] = [
  'desired',
  'command',
  'updateOffer',
  'tunnel',
];

/** One site device connected to the gateway, and the hub messages it subscribed to. */
export interface GatewaySession {
  id: string;
  takes: DevicePlaneKind[];
}

export interface GatewaySessions {
  v: 1;
  devices: GatewaySession[];
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const bad = (msg: string) => new BulwarkError('device_payload_invalid', `gateway sessions: ${msg}`);

/** Parses and checks a snapshot (shape only; whom the gateway may speak for is the hub's call). */
export function parseGatewaySessions(bytes: Uint8Array): GatewaySessions {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
  } catch {
    throw bad('not JSON');
  }
  const s = doc as { v?: unknown; devices?: unknown };
  if (typeof doc !== 'object' || doc === null || s.v !== 1 || !Array.isArray(s.devices))
    throw bad('expected {"v":1,"devices":[…]}');
  if (s.devices.length > MAX_GATEWAY_SESSIONS)
    throw bad(`more than ${MAX_GATEWAY_SESSIONS} devices`);
  const seen = new Set<string>();
  for (const d of s.devices as unknown[]) {
    const x = d as { id?: unknown; takes?: unknown };
    if (typeof d !== 'object' || d === null) throw bad('a device is not an object');
    if (typeof x.id !== 'string' || !ID.test(x.id)) throw bad('id is not a device id');
    if (seen.has(x.id)) throw bad(`device ${x.id} is named twice`);
    seen.add(x.id);
    if (
      !Array.isArray(x.takes) ||
      x.takes.length > RELAYED_KINDS.length ||
      !x.takes.every((k) => RELAYED_KINDS.includes(k as DevicePlaneKind))
    )
      throw bad(`takes must list some of ${RELAYED_KINDS.join(', ')}`);
  }
  return doc as GatewaySessions;
}

/** `downlink/{deviceId}/{rest}`: the levels after `$devices/{gatewayId}/`. */
export function gatewayDownlinkRest(deviceId: string, rest: string): string {
  return `${GATEWAY_DOWNLINK}/${deviceId}/${rest}`;
}

/** A downlink topic's levels (after `$devices/{gatewayId}/`), parsed; undefined if not one. */
export function parseGatewayDownlink(
  rest: string,
): { deviceId: string; rest: string; kind: DevicePlaneKind; param?: string } | undefined {
  const levels = rest.split('/');
  if (levels.length < 3 || levels[0] !== GATEWAY_DOWNLINK || !ID.test(levels[1]!)) return undefined;
  const inner = levels.slice(2).join('/');
  const m = parseDevicePlaneTopic(inner);
  if (!m || DEVICE_PLANE[m.kind].from !== 'hub' || !RELAYED_KINDS.includes(m.kind))
    return undefined;
  return { deviceId: levels[1]!, rest: inner, ...m };
}

/**
 * The device → hub messages a gateway forwards on the uplink: everything a device reports on its
 * own plane except its presence, which the gateway's session snapshot stands for.
 */
export function relayedReport(rest: string): DevicePlaneKind | undefined {
  const m = parseDevicePlaneTopic(rest);
  return m && DEVICE_PLANE[m.kind].from === 'device' && m.kind !== 'presence' ? m.kind : undefined;
}
