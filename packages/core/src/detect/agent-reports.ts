/**
 * What the agent reports, judged (decision 0034): its listening ports against the set it was
 * learned to listen on, and its `connection_not_allowed` events — each as evidence for a rule.
 */
import type { DeviceEvent } from '@bulwark/protocol';
import type { DetectEvidence } from '../ports/events.js';
import { EVIDENCE_LIST, MAX_PORTS, type DetectDeviceState } from './device-state.js';
import type { RuleParams } from './rules.js';

/**
 * Learns the reported ports; after the learning period, a port not seen before is evidence (and
 * joins the set, so each new port fires once).
 */
export function judgePorts(
  s: DetectDeviceState,
  ports: readonly number[],
  reportedAt: string,
  p: RuleParams,
  now: number,
): DetectEvidence | undefined {
  if (!s.ports) {
    s.ports = { known: new Set(ports.slice(0, MAX_PORTS)), firstAt: now };
    s.dirty = true;
    return undefined;
  }
  const known = s.ports.known;
  const fresh = [...new Set(ports)].filter((x) => !known.has(x));
  if (fresh.length === 0) return undefined;
  const learning = now - s.ports.firstAt < (p.learningMinutes ?? 0) * 60_000;
  const before = [...known].sort((a, b) => a - b);
  for (const x of fresh) if (known.size < MAX_PORTS) known.add(x);
  s.dirty = true;
  if (learning) return undefined;
  return {
    metric: 'listening_ports',
    windowSeconds: p.windowSeconds,
    observed: fresh.length,
    expected: { low: null, high: 0 },
    basis: 'known_set',
    newPorts: fresh.sort((a, b) => a - b).slice(0, EVIDENCE_LIST),
    knownPorts: before.slice(0, 50),
    reportedAt,
  };
}

/** `address:port` of a reported destination (whatever types the agent's detail holds). */
const destination = (e: DeviceEvent) =>
  [e.detail['remoteAddress'], e.detail['remotePort']]
    .map((v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?'))
    .join(':');

/** The evidence of connections outside the allowlist (`observed`: in the rule's window). */
export function disallowedEvidence(
  hits: readonly DeviceEvent[],
  observed: number,
  p: RuleParams,
): DetectEvidence {
  return {
    metric: 'disallowed_connections',
    windowSeconds: p.windowSeconds,
    observed,
    expected: { low: null, high: 0 },
    basis: 'event',
    destinations: hits.map(destination).slice(0, EVIDENCE_LIST),
    reportedAt: hits[0]?.at ?? null,
  };
}
