/**
 * The topic grammar of one device's management plane, `$devices/{deviceId}/…` (DESIGN.md §3;
 * topics.ts parses the first two levels): every message the hub and a device exchange there —
 * its levels, who sends it, its QoS and retain flag, and its payload schema. The hub, the agent
 * and the AsyncAPI document all read this one table; nothing builds these topics by hand.
 */
import type { TSchema } from '@sinclair/typebox';
import {
  CommandRequestPayload,
  CommandStatusPayload,
  DesiredTwinPayload,
  DeviceEventsPayload,
  DeviceMetricsPayload,
  PresencePayload,
  ReportedTwinPayload,
  TunnelOfferPayload,
} from './device-plane-schemas.js';
import { DeviceLogBatchPayload } from './device-log-schemas.js';
import {
  InstalledFirmwarePayload,
  UpdateOfferPayload,
  UpdateStatusReportPayload,
} from './update-schemas.js';

/** One message of the device plane. */
export interface DevicePlaneMessage {
  /** The levels after `$devices/{deviceId}/`; `{commandId}` / `{jobId}` is one level. */
  readonly rest: string;
  /** Who publishes it (the other side subscribes). */
  readonly from: 'hub' | 'device';
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** Also sent as the device's MQTT will. */
  readonly will?: true;
  readonly summary: string;
  readonly schema: TSchema;
}

/** Every message of the device plane, by name. */
export const DEVICE_PLANE = {
  desired: {
    rest: 'twin/desired',
    from: 'hub',
    qos: 1,
    retain: true,
    summary: 'The desired twin (RFC 7386 merges applied by the hub), versioned',
    schema: DesiredTwinPayload,
  },
  reported: {
    rest: 'twin/reported',
    from: 'device',
    qos: 1,
    retain: false,
    summary: 'The twin as the device applied it, with the values it could not apply',
    schema: ReportedTwinPayload,
  },
  command: {
    rest: 'commands/{commandId}',
    from: 'hub',
    qos: 1,
    retain: false,
    summary: 'A command to run (deduplicated by id), not after its deadline',
    schema: CommandRequestPayload,
  },
  commandStatus: {
    rest: 'commands/{commandId}/status',
    from: 'device',
    qos: 1,
    retain: false,
    summary: 'A command received (delivered), then its outcome',
    schema: CommandStatusPayload,
  },
  events: {
    rest: 'events',
    from: 'device',
    qos: 1,
    retain: false,
    summary: 'Local alarms, autonomous actions, suspicious connections, local sessions',
    schema: DeviceEventsPayload,
  },
  metrics: {
    rest: 'metrics',
    from: 'device',
    qos: 0,
    retain: false,
    summary: 'A health snapshot (CPU, memory, disk, network, listening ports)',
    schema: DeviceMetricsPayload,
  },
  logs: {
    rest: 'logs',
    from: 'device',
    qos: 1,
    retain: false,
    summary:
      'A batch of log records (its own log, tailed files, the journal), secrets redacted on the device; acknowledged once stored',
    schema: DeviceLogBatchPayload,
  },
  presence: {
    rest: 'presence',
    from: 'device',
    qos: 1,
    retain: true,
    will: true,
    summary: 'Online / offline (also the MQTT will)',
    schema: PresencePayload,
  },
  updateOffer: {
    rest: 'updates/{jobId}',
    from: 'hub',
    qos: 1,
    retain: false,
    summary: 'An update job: install this signed artifact, or a request to cancel the job',
    schema: UpdateOfferPayload,
  },
  updateStatus: {
    rest: 'updates/{jobId}/status',
    from: 'device',
    qos: 1,
    retain: false,
    summary: "The device's report on an update job (or its answer to a cancel request)",
    schema: UpdateStatusReportPayload,
  },
  firmware: {
    rest: 'firmware',
    from: 'device',
    qos: 1,
    retain: false,
    summary: 'What the device runs, after every connect and every commit',
    schema: InstalledFirmwarePayload,
  },
  tunnel: {
    rest: 'tunnels/{sessionId}',
    from: 'hub',
    qos: 1,
    retain: false,
    summary: 'A remote-access session to dial out to the hub relay (decision 0042)',
    schema: TunnelOfferPayload,
  },
} as const satisfies Record<string, DevicePlaneMessage>;

/** The name of a device-plane message. */
export type DevicePlaneKind = keyof typeof DEVICE_PLANE;

/** The names, in table order. */
export const DEVICE_PLANE_KINDS = Object.keys(DEVICE_PLANE) as DevicePlaneKind[];

/** A one-level parameter: not empty, no MQTT wildcard. */
const isLevel = (s: string | undefined): s is string =>
  s !== undefined && s !== '' && !s.includes('+') && !s.includes('#');

/** A device-plane topic, parsed: which message, and its `{commandId}` / `{jobId}` if it has one. */
export interface DevicePlaneTopic {
  kind: DevicePlaneKind;
  param?: string;
}

/**
 * Which message a topic's levels after `$devices/{deviceId}/` name (`commands/42/status` →
 * commandStatus, param 42), or undefined for none of them.
 */
export function parseDevicePlaneTopic(rest: string): DevicePlaneTopic | undefined {
  const levels = rest.split('/');
  for (const kind of DEVICE_PLANE_KINDS) {
    const pattern = DEVICE_PLANE[kind].rest.split('/');
    if (pattern.length !== levels.length) continue;
    let param: string | undefined;
    const ok = pattern.every((p, i) => {
      const l = levels[i];
      if (!p.startsWith('{')) return p === l;
      param = l;
      return isLevel(l);
    });
    if (ok) return param === undefined ? { kind } : { kind, param };
  }
  return undefined;
}

/** The topic of one device-plane message (`param` fills its `{…}` level). */
export function devicePlaneTopic(kind: DevicePlaneKind, deviceId: string, param = ''): string {
  return `$devices/${deviceId}/${DEVICE_PLANE[kind].rest.replace(/\{[a-zA-Z]+\}/, param)}`;
}

/** The topic of one management-plane resource of a device. */
export const deviceTopic = {
  desired: (deviceId: string) => devicePlaneTopic('desired', deviceId),
  reported: (deviceId: string) => devicePlaneTopic('reported', deviceId),
  command: (deviceId: string, commandId: string) =>
    devicePlaneTopic('command', deviceId, commandId),
  commandStatus: (deviceId: string, commandId: string) =>
    devicePlaneTopic('commandStatus', deviceId, commandId),
  events: (deviceId: string) => devicePlaneTopic('events', deviceId),
  metrics: (deviceId: string) => devicePlaneTopic('metrics', deviceId),
  presence: (deviceId: string) => devicePlaneTopic('presence', deviceId),
  logs: (deviceId: string) => devicePlaneTopic('logs', deviceId),
  /** What a device subscribes to for its twin and commands. */
  inbound: (deviceId: string) => [
    devicePlaneTopic('desired', deviceId),
    devicePlaneTopic('command', deviceId, '+'),
  ],
} as const;

/** The topics of the update plane of one device. */
export const updateTopic = {
  offer: (deviceId: string, jobId: string) => devicePlaneTopic('updateOffer', deviceId, jobId),
  status: (deviceId: string, jobId: string) => devicePlaneTopic('updateStatus', deviceId, jobId),
  installed: (deviceId: string) => devicePlaneTopic('firmware', deviceId),
  /** What a device subscribes to for its offers. */
  inbound: (deviceId: string) => devicePlaneTopic('updateOffer', deviceId, '+'),
} as const;

/** Every filter a device subscribes to: all the hub sends it (twin, commands, update offers). */
export function deviceSubscriptions(deviceId: string): string[] {
  return DEVICE_PLANE_KINDS.filter((k) => DEVICE_PLANE[k].from === 'hub').map((k) =>
    devicePlaneTopic(k, deviceId, '+'),
  );
}

/** Does an MQTT topic filter match a topic name (`+` one level, `#` the rest)? */
export function topicFilterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * The hub → device messages a device's subscription filter covers (`$devices/{id}/#` covers all
 * three): what the hub may deliver to it.
 */
export function hubMessagesCovered(deviceId: string, filter: string): DevicePlaneKind[] {
  return DEVICE_PLANE_KINDS.filter(
    (k) =>
      DEVICE_PLANE[k].from === 'hub' &&
      topicFilterMatches(filter, devicePlaneTopic(k, deviceId, 'x')),
  );
}
