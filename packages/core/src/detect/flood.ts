/**
 * The message-rate baseline (decision 0034): which windows a device learns, the band it is held
 * to — its own once learned, else its group's — and the group baselines.
 */
import { Baseline, MIN_SAMPLES, bandOf, groupStats, type BaselineStats } from './baseline.js';
import { bucketOf } from './buckets.js';
import { windowBuckets, type DetectDeviceState } from './device-state.js';
import type { DetectEvidence } from '../ports/events.js';
import type { RuleParams } from './rules.js';

/** A group's baseline needs this many learned members. */
const MIN_GROUP_MEMBERS = 5;

/** A band and where it comes from. */
export interface FloodBand {
  basis: 'device' | 'group' | 'none';
  low: number | null;
  high: number | null;
  stats?: BaselineStats;
}

const learningMs = (p: RuleParams) => (p.learningMinutes ?? 0) * 60_000;

/** The band a device's messages per window are held to (groups: org|type → baseline). */
export function floodBand(
  s: DetectDeviceState,
  p: RuleParams,
  now: number,
  groups: ReadonlyMap<string, BaselineStats>,
): FloodBand {
  let basis: FloodBand['basis'] = 'none';
  let stats: BaselineStats | undefined;
  if (s.flood?.learned(now, learningMs(p))) {
    basis = 'device';
    stats = s.flood.stats();
  } else if (s.group !== null) {
    stats = groups.get(`${s.orgId}|${s.group}`);
    if (stats) basis = 'group';
  }
  if (!stats) return { basis: 'none', low: null, high: null };
  return { basis, ...bandOf(stats, p.k ?? 0, p.minDeviation ?? 0), stats };
}

/**
 * Learns the device's window that just closed — only one with messages, and not while its flood
 * alert is open; returns its baseline's statistics when learned (a group member).
 */
export function learnFloodWindows(
  s: DetectDeviceState,
  p: RuleParams,
  now: number,
  alerting: boolean,
): BaselineStats | undefined {
  const w = p.windowSeconds * 1000;
  const current = Math.floor(now / w);
  // Only the window that just closed is still wholly in the ring (the pass runs every bucket).
  for (let i = Math.max(s.floodWindow + 1, current - 1); i < current; i++) {
    const from = bucketOf(i * w);
    const value = s.messages.sumBuckets(from, from + windowBuckets(p) - 1);
    // Windows without a message say nothing about its rate (offline, idle), and what it sends
    // while a flood alert is open is not learned as normal.
    if (value === 0 || alerting) continue;
    s.flood ??= new Baseline({ s: [], f: now });
    s.flood.push(value);
    s.dirty = true;
  }
  s.floodWindow = Math.max(s.floodWindow, current - 1);
  return s.flood?.learned(now, learningMs(p)) ? s.flood.stats() : undefined;
}

/** Group baselines from their learned members (groups with too few are left out). */
export function groupBaselines(
  members: ReadonlyMap<string, BaselineStats[]>,
): Map<string, BaselineStats> {
  const out = new Map<string, BaselineStats>();
  for (const [key, list] of members) {
    if (list.length < MIN_GROUP_MEMBERS) continue;
    const g = groupStats(list);
    if (g && g.samples >= MIN_SAMPLES) out.set(key, g);
  }
  return out;
}

/** Evidence of a flood: at or above the hard ceiling, or above the band; undefined when neither. */
export function floodEvidence(
  observed: number,
  p: RuleParams,
  band: FloodBand,
): DetectEvidence | undefined {
  const base = { metric: 'messages_in', windowSeconds: p.windowSeconds, observed };
  const ceiling = p.threshold ?? Infinity;
  if (observed >= ceiling)
    return { ...base, expected: { low: null, high: ceiling - 1 }, basis: 'threshold' };
  if (band.basis === 'none' || band.stats === undefined || observed <= band.high!) return undefined;
  return {
    ...base,
    expected: { low: band.low, high: band.high },
    basis: band.basis,
    median: band.stats.median,
    mad: band.stats.mad,
    samples: band.stats.samples,
  };
}
