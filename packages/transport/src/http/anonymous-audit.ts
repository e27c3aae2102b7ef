/**
 * Sampling of anonymous failures for the audit log (issue 11, decision 0013). Every failed
 * request is counted, but a caller who proved nothing must not be able to grow the hash-chained
 * log — and slow every audited write — one row per request. So per source (and the organization a
 * failure was filed under, e.g. the account a failed login named) the first failure of each window
 * is audited as it is, the rest of the window is counted, and one summary row per key carries the
 * count when the window has passed. A hub-wide budget of first rows per window bounds a flood
 * from many addresses; beyond it, failures go to one hub-wide summary. Memory is bounded by
 * `maxKeys` (the least recently seen key is summarized and forgotten first).
 */
import type { AuditInput } from '@bulwark/core';

/** One anonymous failed request, as the audit hook would have recorded it. */
export type AnonymousFailure = AuditInput & { source: string | null };

/** How the sampler counts. */
export interface SamplerOptions {
  /** One audited row per key per window; the rest are summarized when it has passed. */
  windowMs: number;
  /** First rows, over all keys, per window; failures beyond go to the hub-wide summary. */
  rowBudget: number;
  /** Keys remembered at most. */
  maxKeys: number;
  now: () => number;
  write: (row: AuditInput) => Promise<unknown>;
}

interface Tally {
  orgId: string | null;
  source: string | null;
  windowStart: number;
  count: number;
  byCode: Record<string, number>;
  byAction: Record<string, number>;
}

// Failures that found no room in the budget; NUL cannot occur in a source address.
const OVERFLOW = '\u0000overflow';

/** The audit action of a summary row. */
export const SUMMARY_ACTION = 'http.anonymousFailures';

/** Decides, per anonymous failure, whether it is audited now or counted into a summary. */
export class AnonymousAuditSampler {
  readonly #o: SamplerOptions;
  // Insertion order is recency: a key is re-inserted on every failure.
  readonly #tallies = new Map<string, Tally>();
  #budgetWindow = 0;
  #budgetUsed = 0;

  constructor(options: SamplerOptions) {
    this.#o = options;
  }

  /** Audits the failure or counts it. */
  async record(f: AnonymousFailure): Promise<void> {
    // Every decision is made before the first await, so concurrent requests see one state.
    const now = this.#o.now();
    const key = `${f.source ?? ''}\u0000${f.orgId ?? ''}`;
    const open = this.#tallies.get(key);
    if (open && now - open.windowStart < this.#o.windowMs) {
      this.#count(key, open, f);
      return;
    }
    const rows: AuditInput[] = [];
    if (open) rows.push(...this.#take(key));
    if (now - this.#budgetWindow >= this.#o.windowMs) {
      this.#budgetWindow = now;
      this.#budgetUsed = 0;
    }
    if (this.#budgetUsed >= this.#o.rowBudget) {
      const overflow = this.#tallies.get(OVERFLOW) ?? this.#tally(null, null, now, OVERFLOW);
      this.#count(OVERFLOW, overflow, f);
    } else {
      this.#budgetUsed += 1;
      this.#tally(f.orgId, f.source, now, key);
      rows.push(f);
      // Over the bound: the least recently seen keys are summarized now and forgotten.
      for (const [k] of this.#tallies) {
        if (this.#tallies.size <= this.#o.maxKeys) break;
        rows.push(...this.#take(k));
      }
    }
    for (const row of rows) await this.#o.write(row);
  }

  /** Writes the summaries of windows that have passed (`all`: of every window, e.g. at close). */
  async flush(all = false): Promise<void> {
    const now = this.#o.now();
    const rows: AuditInput[] = [];
    for (const [key, t] of [...this.#tallies]) {
      if (all || now - t.windowStart >= this.#o.windowMs) rows.push(...this.#take(key));
    }
    for (const row of rows) await this.#o.write(row);
  }

  #tally(orgId: string | null, source: string | null, now: number, key: string): Tally {
    const t: Tally = { orgId, source, windowStart: now, count: 0, byCode: {}, byAction: {} };
    this.#tallies.set(key, t);
    return t;
  }

  #count(key: string, t: Tally, f: AnonymousFailure): void {
    t.count += 1;
    const code = typeof f.detail?.['error'] === 'string' ? f.detail['error'] : 'none';
    t.byCode[code] = (t.byCode[code] ?? 0) + 1;
    t.byAction[f.action] = (t.byAction[f.action] ?? 0) + 1;
    this.#tallies.delete(key);
    this.#tallies.set(key, t);
  }

  /** Forgets a key and returns its summary row, if anything was counted. */
  #take(key: string): AuditInput[] {
    const t = this.#tallies.get(key);
    this.#tallies.delete(key);
    if (!t || t.count === 0) return [];
    return [
      {
        orgId: t.orgId,
        actorType: 'anonymous',
        actorId: null,
        action: SUMMARY_ACTION,
        targetType: 'http',
        targetId: null,
        source: t.source,
        result: 'failure',
        // `count`: the failures of the window after the one audited as it was.
        detail: {
          count: t.count,
          byCode: t.byCode,
          byAction: t.byAction,
          windowStart: new Date(t.windowStart).toISOString(),
          windowMs: this.#o.windowMs,
        },
      },
    ];
  }
}
