/**
 * What an admitted principal may use, written once (DESIGN.md §4.1): the planes each device state
 * opens. A quarantined device keeps its management plane and updates — so a person can inspect,
 * reconfigure, command or reflash it — and loses channel data (telemetry in, subscriptions out)
 * and credential renewal. Decommissioned devices are never admitted.
 */
import type { DevicePlaneKind } from '@bulwark/protocol';
import type { DeviceState } from '../ports/records.js';
import { AdmissionError, type EdgePrincipal } from './principal.js';

/** The parts of the hub a principal can reach at the edge. */
export type Plane =
  /** Channel data: publish, ingest, subscribe, observe. */
  | 'channels'
  /** The device's own `$devices/{id}/…` plane: twin, commands, events, metrics, presence. */
  | 'management'
  /** Firmware updates: offers and status, DDI, artifact downloads. */
  | 'updates'
  /** Certificate renewal. */
  | 'renewal';

const ALL: readonly Plane[] = ['channels', 'management', 'updates', 'renewal'];

/** The planes each device state opens. */
export const DEVICE_PLANES: Readonly<Record<DeviceState, readonly Plane[]>> = {
  // A device may hold a device key before it ever enrolled a certificate.
  provisioned: ALL,
  active: ALL,
  quarantined: ['management', 'updates'],
  decommissioned: [],
};

/** Applications (API keys) reach channel data only; the device plane is the devices' own. */
const APP_PLANES: readonly Plane[] = ['channels'];

/** May this principal use this plane? */
export function mayUse(p: EdgePrincipal, plane: Plane): boolean {
  return (p.type === 'device' ? DEVICE_PLANES[p.state] : APP_PLANES).includes(plane);
}

/** Throws the typed refusal unless the principal may use the plane. */
export function requirePlane(p: EdgePrincipal, plane: Plane): void {
  if (mayUse(p, plane)) return;
  const kind = p.type === 'device' ? p.credential.kind : 'api_key';
  if (p.type === 'device' && p.state === 'quarantined') {
    throw new AdmissionError(
      'quarantined',
      kind,
      `device ${p.id} is quarantined: its ${plane} plane is closed until a person releases it`,
    );
  }
  throw new AdmissionError('unknown', kind, `this credential cannot use the ${plane} plane`, {
    code: 'forbidden',
  });
}

/** The device-plane messages of the updates plane (open to a quarantined device). */
const UPDATE_KINDS: ReadonlySet<DevicePlaneKind> = new Set([
  'updateOffer',
  'updateStatus',
  'firmware',
]);

/** The plane one device-plane message belongs to (undefined: not a message of the plane). */
export function planeOfKind(kind: DevicePlaneKind | undefined): Plane {
  return kind !== undefined && UPDATE_KINDS.has(kind) ? 'updates' : 'management';
}
