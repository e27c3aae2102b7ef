/**
 * Source addresses blocked at the edge by a `block_source` mitigation (decision 0036, amendment
 * of 2026-12-07 "block_source"), on one node. Every node holds the same list: it learns a block
 * or its release from the domain event the mitigation emits (`edge.source_blocked`,
 * `edge.source_released`) and, as a safety net for an event it missed or a node started later,
 * from a periodic read of the stored mitigations (`sync`). Admission asks `check` before it looks
 * at a credential.
 *
 * A block is made by an organization. The hub operator's organization (the one that sees the
 * failures naming no organization, decision 0034) blocks a source for every authentication; any
 * other organization's block refuses only credentials of that organization, so a tenant cannot
 * cut another tenant's devices off by blocking the address they share (a NAT, a site gateway).
 * Keys are canonical addresses (`canonicalAddress`), so `::ffff:10.0.0.9` is `10.0.0.9`.
 */
import type { Clock } from '../ports/clock.js';
import { canonicalAddress } from './address.js';

/** One block: a mitigation's lock of one address until a time. */
export interface SourceBlock {
  /** The mitigation that made it. */
  id: string;
  /** The organization that made it. */
  orgId: string;
  /** The canonical address. */
  source: string;
  /** Epoch ms; the block ends by itself then. */
  until: number;
  /** Made by the hub operator's organization: every credential from the source is refused. */
  hubWide: boolean;
}

/** What blocks `source` now. */
export interface SourceBlockHit {
  /** Until when every credential is refused (0: no hub-wide block). */
  hubWideUntil: number;
  /** Organizations whose credentials are refused, each until when. */
  orgs: ReadonlyMap<string, number>;
}

/**
 * Blocks are made by audited mitigations, one per alert or person's action; this bound only keeps
 * a runaway policy from growing a node's memory without end (the soonest to end is dropped).
 */
const MAX_BLOCKS = 100_000;

/** The blocks one node enforces. */
export class SourceBlocks {
  readonly #byId = new Map<string, SourceBlock & { learnedAt: number }>();
  readonly #bySource = new Map<string, Set<string>>();

  constructor(private readonly clock: Clock) {}

  /** Learns a block (an event, the sweep). An ended or malformed one is ignored. */
  add(b: SourceBlock): void {
    const now = this.clock.now();
    const source = canonicalAddress(b.source);
    if (source === null || b.until <= now) return;
    this.remove(b.id);
    if (this.#byId.size >= MAX_BLOCKS) this.#dropSoonest();
    this.#byId.set(b.id, { ...b, source, learnedAt: now });
    let ids = this.#bySource.get(source);
    if (!ids) this.#bySource.set(source, (ids = new Set()));
    ids.add(b.id);
  }

  /** Forgets a block (released, or ended). */
  remove(id: string): void {
    const b = this.#byId.get(id);
    if (!b) return;
    this.#byId.delete(id);
    const ids = this.#bySource.get(b.source);
    ids?.delete(id);
    if (ids?.size === 0) this.#bySource.delete(b.source);
  }

  /**
   * Makes the list what the store says (`live`: every block not released and not ended, read
   * after `readStartedAt`). A block learned from an event after the read started is kept even if
   * the read missed it; one released since is gone from the store and goes here too.
   */
  sync(live: readonly SourceBlock[], readStartedAt: number): void {
    const keep = new Set(live.map((b) => b.id));
    for (const [id, b] of this.#byId)
      if (!keep.has(id) && b.learnedAt < readStartedAt) this.remove(id);
    for (const b of live) if (!this.#byId.has(b.id)) this.add(b);
  }

  /** What blocks `source` (any spelling) now, or null when nothing does. */
  check(source: string): SourceBlockHit | null {
    if (this.#bySource.size === 0) return null;
    const canon = canonicalAddress(source);
    const ids = canon === null ? undefined : this.#bySource.get(canon);
    if (!ids) return null;
    const now = this.clock.now();
    let hubWideUntil = 0;
    const orgs = new Map<string, number>();
    for (const id of [...ids]) {
      const b = this.#byId.get(id)!;
      if (b.until <= now) {
        this.remove(id);
        continue;
      }
      if (b.hubWide) hubWideUntil = Math.max(hubWideUntil, b.until);
      else orgs.set(b.orgId, Math.max(orgs.get(b.orgId) ?? 0, b.until));
    }
    return hubWideUntil === 0 && orgs.size === 0 ? null : { hubWideUntil, orgs };
  }

  /** The blocks held (tests, metrics). */
  list(): SourceBlock[] {
    return [...this.#byId.values()].map(({ learnedAt: _, ...b }) => b);
  }

  #dropSoonest(): void {
    let soonest: SourceBlock | undefined;
    for (const b of this.#byId.values()) if (!soonest || b.until < soonest.until) soonest = b;
    if (soonest) this.remove(soonest.id);
  }
}
