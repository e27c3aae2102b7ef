/** Rows of the device-management tables and their mapping to records (JSON kept as text). */
import type {
  CommandRecord,
  DesiredTwinRecord,
  DeviceEventRecord,
  PresenceRecord,
  ReportedTwinRecord,
} from '@bulwark/core';

export interface DesiredRow {
  org_id: string;
  device_id: string;
  version: number;
  state: string;
  updated_at: number;
}
export interface ReportedRow extends DesiredRow {
  desired_version: number;
  errors: string;
}
export interface CommandRow {
  id: string;
  org_id: string;
  device_id: string;
  name: string;
  params: string;
  state: string;
  deadline: number;
  created_at: number;
  updated_at: number;
  result: string | null;
  error: string | null;
  history: string;
}
export interface PresenceRow {
  org_id: string;
  device_id: string;
  online: number;
  mode: string | null;
  since: number;
  last_seen_at: number;
  session_id: string | null;
  metrics: string | null;
}
export interface EventRow {
  id: string;
  org_id: string;
  device_id: string;
  kind: string;
  severity: string;
  at: number;
  received_at: number;
  detail: string;
}
export const json = (text: string) => JSON.parse(text) as never;
export const jsonOrNull = (text: string | null) =>
  text === null ? null : (JSON.parse(text) as never);
/** `xs` grouped by `key`, in first-seen order. */
export function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = out.get(k);
    if (g) g.push(x);
    else out.set(k, [x]);
  }
  return out;
}

export const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export const toDesired = (r: DesiredRow): DesiredTwinRecord => ({
  orgId: r.org_id,
  deviceId: r.device_id,
  version: r.version,
  state: json(r.state),
  updatedAt: r.updated_at,
});
export const toReported = (r: ReportedRow): ReportedTwinRecord => ({
  ...toDesired(r),
  desiredVersion: r.desired_version,
  errors: json(r.errors),
});
export const toCommand = (r: CommandRow): CommandRecord => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  name: r.name,
  params: json(r.params),
  state: r.state as CommandRecord['state'],
  deadline: r.deadline,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  result: jsonOrNull(r.result),
  error: jsonOrNull(r.error),
  history: json(r.history),
});
export const toPresence = (r: PresenceRow): PresenceRecord => ({
  orgId: r.org_id,
  deviceId: r.device_id,
  online: Number(r.online) === 1,
  mode: r.mode as PresenceRecord['mode'],
  since: r.since,
  lastSeenAt: r.last_seen_at,
  sessionId: r.session_id,
  metrics: jsonOrNull(r.metrics),
});
export const toEvent = (r: EventRow): DeviceEventRecord => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  kind: r.kind,
  severity: r.severity as DeviceEventRecord['severity'],
  at: r.at,
  receivedAt: r.received_at,
  detail: json(r.detail),
});
