/**
 * What the detection engine keeps of one device (decision 0034): its counters, its learned
 * baselines and how they are stored — one row per baseline, compact JSON.
 */
import type { DetectBaselineRecord } from '../ports/detect.js';
import { Baseline } from './baseline.js';
import { BUCKET_MS, BucketCounter } from './buckets.js';
import type { RuleParams } from './rules.js';

/** Evidence lists (sources, subjects, ports) are cut to this many. */
export const EVIDENCE_LIST = 10;
/** Ports remembered per device (the agent reports at most 1,024). */
export const MAX_PORTS = 1024;

/** Counters of one device, by metric. */
export type DeviceMetric =
  | 'messages_in'
  | 'bytes_in'
  | 'connects'
  | 'cross_source_takeovers'
  | 'authz_denied'
  | 'renewals'
  | 'disallowed_connections';

/** What the engine keeps of one device. */
export interface DetectDeviceState {
  orgId: string;
  deviceId: string;
  subject: string;
  /** Its type (the baseline group), once loaded. */
  group: string | null;
  loaded: boolean;
  loading: Promise<void>;
  lastSeen: number;
  messages: BucketCounter;
  bytes: BucketCounter;
  counters: Map<DeviceMetric, BucketCounter>;
  flood: Baseline | undefined;
  /** The last flood window learned (or skipped). */
  floodWindow: number;
  ports: { known: Set<number>; firstAt: number } | undefined;
  /** Recent source addresses (for evidence). */
  sources: string[];
  dirty: boolean;
}

/** Buckets a rule's window spans. */
export const windowBuckets = (p: RuleParams): number =>
  Math.ceil((p.windowSeconds * 1000) / BUCKET_MS);

/** The gate subject of a device. */
export const deviceSubject = (orgId: string, deviceId: string): string =>
  `device:${orgId}:${deviceId}`;

/** Adds `v` to a short list of recent values (for evidence). */
export const remember = (list: string[], v: string): void => {
  if (list.includes(v)) return;
  list.push(v);
  if (list.length > EVIDENCE_LIST) list.shift();
};

/** A device first seen now, its counters sized for the flood rule's window. */
export function newDeviceState(
  orgId: string,
  deviceId: string,
  now: number,
  flood: RuleParams,
): DetectDeviceState {
  return {
    orgId,
    deviceId,
    subject: deviceSubject(orgId, deviceId),
    group: null,
    loaded: false,
    loading: Promise.resolve(),
    lastSeen: now,
    messages: new BucketCounter(windowBuckets(flood) + 2),
    bytes: new BucketCounter(windowBuckets(flood) + 2),
    counters: new Map(),
    flood: undefined,
    // The window it was first seen in is partial: never learned.
    floodWindow: Math.floor(now / (flood.windowSeconds * 1000)),
    ports: undefined,
    sources: [],
    dirty: false,
  };
}

/** A device counter other than messages and bytes, made on first use (≤ 5 minutes; grows). */
export function counterOf(s: DetectDeviceState, metric: DeviceMetric): BucketCounter {
  let c = s.counters.get(metric);
  if (!c) {
    c = new BucketCounter(31);
    s.counters.set(metric, c);
  }
  return c;
}

/** The value of a device counter over the last window ending now. */
export function counterValue(
  s: DetectDeviceState,
  metric: string,
  windowSeconds: number,
  now: number,
): number {
  const ms = windowSeconds * 1000;
  if (metric === 'messages_in') return s.messages.sliding(now, ms);
  if (metric === 'bytes_in') return s.bytes.sliding(now, ms);
  return s.counters.get(metric as DeviceMetric)?.sliding(now, ms) ?? 0;
}

/** Takes the device's type and stored baselines (read when the engine first saw it). */
export function applyStored(
  s: DetectDeviceState,
  type: string | undefined,
  rows: readonly DetectBaselineRecord[],
): void {
  s.group = type ?? 'unknown';
  for (const r of rows) {
    if (r.key === 'message_flood') s.flood = Baseline.parse(r.data) ?? s.flood;
    if (r.key === 'listening_ports') s.ports = parsePorts(r.data) ?? s.ports;
  }
}

/** The device's baselines as rows to store. */
export function baselineRows(s: DetectDeviceState, now: number): DetectBaselineRecord[] {
  const rows: DetectBaselineRecord[] = [];
  const row = (key: string, data: unknown) =>
    rows.push({
      orgId: s.orgId,
      deviceId: s.deviceId,
      key,
      data: JSON.stringify(data),
      updatedAt: now,
    });
  if (s.flood) row('message_flood', s.flood.toData());
  if (s.ports)
    row('listening_ports', { p: [...s.ports.known].sort((a, b) => a - b), f: s.ports.firstAt });
  return rows;
}

/** The host of a source (`addr` or `addr:port`; IPv6 in brackets or bare). */
export function hostOf(source: string): string {
  const bracket = /^\[([^\]]+)\]/.exec(source);
  if (bracket) return bracket[1]!;
  const colons = source.split(':').length - 1;
  return colons === 1 ? source.slice(0, source.indexOf(':')) : source;
}

/** The stored set of listening ports. */
export function parsePorts(json: string): { known: Set<number>; firstAt: number } | undefined {
  try {
    const d = JSON.parse(json) as { p?: unknown; f?: unknown };
    if (!Array.isArray(d.p) || typeof d.f !== 'number') return undefined;
    return {
      known: new Set(d.p.filter((x): x is number => Number.isInteger(x)).slice(0, MAX_PORTS)),
      firstAt: d.f,
    };
  } catch {
    return undefined;
  }
}
