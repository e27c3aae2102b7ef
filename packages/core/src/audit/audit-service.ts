import type { Clock } from '../ports/clock.js';
import type { AuditDraft, AuditEvent, AuditFilter, Page, PageRequest } from '../ports/records.js';
import type { AuditStore } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { canonicalJson, sha256Hex } from '../shared/hash.js';

/** What a caller says about an event; the service adds id, time and the chain. */
export type AuditInput = Omit<AuditDraft, 'id' | 'at' | 'detail'> & {
  detail?: Record<string, unknown> | null;
};

/** The result of verifying the chain. */
export type AuditVerdict =
  | { ok: true; count: number; headSeq: number }
  | { ok: false; count: number; seq: number; id: string | null; reason: string };

/** The hash of a row: SHA-256 over the canonical JSON of every column but `hash` itself. */
export function auditHash(row: Omit<AuditEvent, 'hash'>): string {
  return sha256Hex(canonicalJson(row));
}

const GENESIS = '0'.repeat(64);

/**
 * The append-only, hash-chained audit log. Each row's hash covers its content and the previous
 * row's hash, and the head is kept apart, so editing, deleting, inserting or reordering rows
 * behind the hub's back breaks the chain at the first bad row.
 */
export class AuditService {
  constructor(private readonly d: { store: AuditStore; clock: Clock }) {}

  /** Appends an event. */
  async record(input: AuditInput): Promise<AuditEvent> {
    const at = this.d.clock.now();
    const draft: AuditDraft = {
      ...input,
      id: newId(at),
      at,
      detail: input.detail ? canonicalJson(input.detail) : null,
    };
    return this.d.store.append(draft, auditHash);
  }

  /** One organization's events, newest first. */
  list(orgId: string, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
    return this.d.store.list(orgId, filter, page);
  }

  /** Walks the whole chain and names the first row that does not fit. */
  async verify(batch = 1000): Promise<AuditVerdict> {
    let prevHash = GENESIS;
    let expected = 1;
    let count = 0;
    for (;;) {
      const rows = await this.d.store.scan(expected - 1, batch);
      for (const row of rows) {
        const { hash, ...rest } = row;
        const bad = (reason: string): AuditVerdict => ({
          ok: false,
          count,
          seq: row.seq,
          id: row.id,
          reason,
        });
        if (row.seq !== expected)
          return bad(`row ${expected} is missing (deleted?): the next row is ${row.seq}`);
        if (row.prevHash !== prevHash)
          return bad(
            `row ${row.seq} does not follow row ${row.seq - 1} (deleted, inserted or reordered)`,
          );
        if (auditHash(rest) !== hash)
          return bad(`row ${row.seq} was edited: its content does not match its hash`);
        prevHash = hash;
        expected++;
        count++;
      }
      if (rows.length < batch) break;
    }
    const head = await this.d.store.head();
    const last = expected - 1;
    if (!head && last === 0) return { ok: true, count, headSeq: 0 };
    if (!head || head.seq !== last || head.hash !== prevHash) {
      return {
        ok: false,
        count,
        seq: head?.seq ?? last,
        id: null,
        reason:
          head && head.seq > last
            ? `rows ${last + 1}…${head.seq} are missing (deleted from the end)`
            : 'the chain head does not match the last row',
      };
    }
    return { ok: true, count, headSeq: last };
  }
}
