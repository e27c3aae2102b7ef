/**
 * The `block_source` action (decision 0036, amendment "block_source"): the answer to a brute
 * force is its source, not its target. It locks the alert's source address at the edge of every
 * node for a bounded time — through the `edge.source_blocked` domain event, which every node's
 * edge applies (hub/src/edge.ts), with the stored action as the safety net for a node that missed
 * it — and a revert releases it the same way. Live sessions are not cut: a device already
 * connected from the address (the victim behind the same NAT) keeps its session; only new
 * authentications are refused.
 */
import { BulwarkError } from '@bulwark/protocol';
import { canonicalAddress } from '../edge/address.js';
import type { AlertRecord } from '../ports/alerts.js';
import type { DomainEvents } from '../ports/events.js';
import type { MitigationParams, MitigationRecord } from '../ports/mitigations.js';
import type { SourceBlock } from '../edge/source-blocks.js';
import type { ActionPlan } from './actions.js';
import { DEFAULT_BLOCK_SECONDS, SOURCE_ALERT_KINDS } from './policy.js';

/**
 * Addresses never blocked unless the hub is told otherwise: its own loopback. A local operator,
 * the CLI, a gateway or a TLS proxy on the hub's host connect from there; a block on it would
 * lock them all out, and — behind a proxy — let a remote guesser have the whole fleet refused by
 * our own mitigation. Other 127.0.0.0/8 addresses are only ever used on purpose and may be
 * blocked. The unspecified addresses are never a peer.
 */
export const DEFAULT_NEVER_BLOCK: readonly string[] = ['127.0.0.1', '::1'];
const UNSPECIFIED = ['0.0.0.0', '::'];

/** What the block action needs beyond the shared action services. */
export interface BlockDeps {
  events?: DomainEvents;
  /** The hub operator's organization: its blocks refuse every credential (decision 0034). */
  operatorOrgId?: () => Promise<string | undefined>;
  /** Canonical addresses never blocked (default DEFAULT_NEVER_BLOCK). */
  neverBlock?: readonly string[];
  clock: { now(): number };
}

/** The address an alert names as its source, canonical, or null. */
export function alertSource(alert: Pick<AlertRecord, 'kind' | 'evidence'>): string | null {
  if (!SOURCE_ALERT_KINDS.includes(alert.kind)) return null;
  const s = alert.evidence['source'];
  return typeof s === 'string' ? canonicalAddress(s) : null;
}

/**
 * The address to block: `params.source` (canonical already) or the alert's. Refused
 * `mitigation_no_source` when neither names one, `mitigation_invalid` when both do and differ
 * (an alert is not a licence to block another address in its name), and
 * `mitigation_source_exempt` for the never-block list and the unspecified addresses.
 */
export function sourceToBlock(
  d: Pick<BlockDeps, 'neverBlock'>,
  params: MitigationParams,
  alert: Pick<AlertRecord, 'id' | 'kind' | 'evidence'> | null,
): string {
  const given = typeof params.source === 'string' ? params.source : null;
  const named = alert ? alertSource(alert) : null;
  if (given === null && named === null)
    throw new BulwarkError(
      'mitigation_no_source',
      alert
        ? `alert ${alert.id} (${alert.kind}) names no source address; block_source answers ${SOURCE_ALERT_KINDS.join(', ')} alerts, or give params.source`
        : 'block_source needs params.source or an alert that names a source address',
    );
  if (given !== null && named !== null && given !== named)
    throw new BulwarkError(
      'mitigation_invalid',
      `alert ${alert!.id} names source ${named}, not ${given}: block the alert's source, or give no alert`,
    );
  const source = (given ?? named)!;
  const never = d.neverBlock ?? DEFAULT_NEVER_BLOCK;
  if (UNSPECIFIED.includes(source) || never.includes(source))
    throw new BulwarkError(
      'mitigation_source_exempt',
      `${source} is never blocked: ${UNSPECIFIED.includes(source) ? 'it is the unspecified address' : "it is on the hub's never-block list (its own loopback: local operators, the CLI, a proxy on the host)"}`,
    );
  return source;
}

/** Plans a block of `source` made by `orgId`; `params` are checked (durationSeconds set). */
export async function planBlock(
  d: BlockDeps,
  orgId: string,
  source: string,
  params: MitigationParams,
  mitigationId: () => string,
): Promise<ActionPlan> {
  const seconds =
    typeof params.durationSeconds === 'number' ? params.durationSeconds : DEFAULT_BLOCK_SECONDS;
  const hubWide = (await d.operatorOrgId?.()) === orgId;
  const until = d.clock.now() + seconds * 1000;
  return {
    summary: [
      `block new authentications from ${source} at the edge of every hub node for ${seconds} s (until ${new Date(until).toISOString()}): ${hubWide ? "every credential (the hub operator's organization blocks for the whole hub)" : "this organization's device certificates, device keys and API keys"}`,
      'on MQTT over TLS and WebSocket, HTTP ingest, DDI and CoAP; sessions already live are not cut',
      'a revert releases it at once',
    ],
    run: () => {
      const at = d.clock.now();
      const block = { source, until: at + seconds * 1000, hubWide };
      d.events?.emit({
        type: 'edge.source_blocked',
        orgId,
        at,
        mitigationId: mitigationId(),
        ...block,
      });
      return Promise.resolve(block);
    },
  };
}

/** The block an applied `block_source` record holds, or null (ended, or not a block). */
export function blockOf(m: MitigationRecord, now: number): SourceBlock | null {
  const p = m.previous;
  if (m.action !== 'block_source' || m.state !== 'applied' || !p) return null;
  const { source, until, hubWide } = p;
  if (typeof source !== 'string' || typeof until !== 'number' || until <= now) return null;
  return { id: m.id, orgId: m.orgId, source, until, hubWide: hubWide === true };
}

/** Releases an applied block (a revert); returns the lines to audit. */
export function releaseBlock(d: BlockDeps, m: MitigationRecord): string[] {
  const now = d.clock.now();
  const b = blockOf(m, now);
  if (!b)
    throw new BulwarkError(
      'mitigation_not_reversible',
      'the block has ended by itself: there is nothing to release',
    );
  d.events?.emit({
    type: 'edge.source_released',
    orgId: m.orgId,
    at: now,
    mitigationId: m.id,
    source: b.source,
  });
  return [
    `released the block of ${b.source} (it would have ended ${new Date(b.until).toISOString()})`,
  ];
}
