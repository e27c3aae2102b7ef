/**
 * The device management plane (DESIGN.md §3): what the hub and a device say to each other on
 * `$devices/{deviceId}/…`, over the device's one MQTT connection. Payloads are JSON (UTF-8).
 *
 *   twin/desired              hub → device  retained, QoS 1   DesiredTwin
 *   twin/reported             device → hub  QoS 1             ReportedTwin
 *   commands/{commandId}      hub → device  QoS 1             CommandRequest
 *   commands/{commandId}/status  device → hub  QoS 1          CommandStatus
 *   events                    device → hub  QoS 1             DeviceEvent[]
 *   metrics                   device → hub  QoS 0             DeviceMetrics
 *   presence                  device → hub  retained; also the device's MQTT will   Presence
 *
 * The topics, QoS and payload schemas are one table, `DEVICE_PLANE` (device-topics.ts); the
 * schemas are in device-plane-schemas.ts. These interfaces are what the schemas describe.
 */

/** A JSON object of configuration: sections (network, logging, sampling, app …) of values. */
export type TwinState = { [key: string]: TwinValue };
export type TwinValue =
  string | number | boolean | null | TwinValue[] | { [key: string]: TwinValue };

/** The desired state the hub holds for a device; `version` grows with every change. */
export interface DesiredTwin {
  version: number;
  state: TwinState;
}

/** One value the device could not apply, by its JSON path (e.g. `sampling.intervalSeconds`). */
export interface TwinError {
  path: string;
  message: string;
}

/**
 * What the device actually runs: `state` as applied, the desired `version` it last processed, and
 * the values it refused (an unappliable value is reported, never silently ignored).
 */
export interface ReportedTwin {
  /** The device's own counter, growing with every report. */
  version: number;
  /** The desired version this report answers. */
  desiredVersion: number;
  state: TwinState;
  errors: TwinError[];
}

/** A command for a device. It is not run after its deadline. */
export interface CommandRequest {
  id: string;
  name: string;
  params: { [key: string]: TwinValue };
  /** RFC 3339. */
  deadline: string;
}

/** A remote-access session the device is to dial out to the hub relay (decision 0042). */
export interface TunnelOffer {
  /** The relay session's id. */
  id: string;
  /** Authenticates the device's leg, with its certificate; single use. */
  secret: string;
  /** Where to dial on the hub's HTTPS origin: `/api/v1/relay/{id}`. */
  path: string;
  /** `local`, `serial` or `tcp:PORT` (the ticket's `tgt`). */
  target: string;
  /** RFC 3339: the offer is void after this. */
  expiresAt: string;
}

/** Command states. Terminal: succeeded, failed, expired, canceled. */
export type CommandState = 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired' | 'canceled';

/** What a device reports about a command: received (`delivered`), then its outcome. */
export interface CommandStatus {
  state: 'delivered' | 'succeeded' | 'failed';
  result?: { [key: string]: TwinValue };
  /** For `failed`: why (e.g. `unknown_command`, `invalid_params`, `deadline_passed`, the handler's error). */
  error?: { code: string; message: string };
}

/** Something a device noticed (local alarm, autonomous action, suspicious connection, local session …). */
export interface DeviceEvent {
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  /** RFC 3339, device clock. */
  at: string;
  detail: { [key: string]: TwinValue };
}

/** A device's health snapshot. */
export interface DeviceMetrics {
  at: string;
  cpuPercent: number;
  memory: { totalBytes: number; availableBytes: number };
  disk: { totalBytes: number; availableBytes: number };
  uptimeSeconds: number;
  network: { rxBytes: number; txBytes: number };
  listeningPorts: number[];
  connections: number;
}

/** Online/offline, also sent as the MQTT will ({ online: false }) so the hub learns of a lost link. */
export interface Presence {
  online: boolean;
  mode?: 'autonomous' | 'controlled';
}

/**
 * A one-time access ticket for a device's local management port: a compact JWS (ES256) signed with
 * the organization's issuing CA key, which the device already trusts from its enrollment chain, so it
 * verifies the ticket offline. Claims:
 */
export interface AccessTicketClaims {
  /** Always `bulwark-ticket`. */
  typ: 'bulwark-ticket';
  /** Ticket id: the device accepts each id once. */
  jti: string;
  /** The device it is for. */
  sub: string;
  org: string;
  /** Permission level on the local port. */
  perm: 'read' | 'operate' | 'admin';
  /** Who asked for it (user id). */
  by: string;
  /** Issued at / expires at, seconds since the epoch (minutes apart; days for backup tickets). */
  iat: number;
  exp: number;
  /** Issued ahead of time for an isolated site; revocable through the twin (`tickets.revoked`). */
  backup?: boolean;
  /**
   * What the ticket opens through a remote-access tunnel (decision 0042): `local` (the local
   * management protocol; the same as no `tgt`), `serial` (the serial pass-through) or `tcp:PORT`
   * (a TCP port on the device's loopback). Only a ticket without `tgt`, or with `local`, opens the
   * LAN port's session.
   */
  tgt?: string;
}

/** A ticket's `tgt`: `local`, `serial` or `tcp:1`…`tcp:65535`. */
export const TUNNEL_TARGET = /^(local|serial|tcp:([1-9][0-9]{0,4}))$/;

/** Is `s` a valid tunnel target (`tcp:` ports 1-65535)? */
export function isTunnelTarget(s: string): boolean {
  const m = TUNNEL_TARGET.exec(s);
  return m !== null && (m[2] === undefined || Number(m[2]) <= 65535);
}

/** What each permission level may do on the local port. */
export const TICKET_PERMISSIONS: Readonly<Record<AccessTicketClaims['perm'], readonly string[]>> = {
  read: ['get', 'list'],
  operate: ['get', 'list', 'set', 'passthrough'],
  admin: ['get', 'list', 'set', 'passthrough', 'reboot', 'factory-reset'],
};
