import type { Clock } from '../ports/clock.js';
import type { AuditDraft, AuditEvent, AuditFilter, Page, PageRequest } from '../ports/records.js';
import type { AuditSeal, AuditStore } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { canonicalJson, safeEqual } from '../shared/hash.js';
import { AUDIT_GENESIS, auditHash, auditHeadMac, keyedAuditHash } from './audit-chain.js';

/** What a caller says about an event; the service adds id, time and the chain. */
export type AuditInput = Omit<AuditDraft, 'id' | 'at' | 'detail'> & {
  detail?: Record<string, unknown> | null;
};

/**
 * The result of verifying the chain. `keyedFrom` is the first row sealed with the keyed hash:
 * rows before it predate keying (decision 0016).
 */
export type AuditVerdict =
  | { ok: true; count: number; headSeq: number; keyedFrom: number }
  | { ok: false; count: number; seq: number; id: string | null; reason: string };

/**
 * The append-only, hash-chained audit log. Each row's hash covers its content and the previous
 * row's hash, keyed with a key derived from the master key (audit-chain.ts), and the head is kept
 * apart and MACed, so editing, deleting, inserting or reordering rows behind the hub's back breaks
 * the chain at the first bad row — also for someone who rewrites every later hash.
 */
export class AuditService {
  readonly #seal: AuditSeal;

  constructor(
    private readonly d: {
      store: AuditStore;
      clock: Clock;
      /** 32 bytes derived from the master key for this purpose only (`deriveKey(…, 'audit-chain')`). */
      key: Uint8Array;
    },
  ) {
    this.#seal = (row, { keyedFrom }) => {
      const hash = row.seq >= keyedFrom ? keyedAuditHash(d.key, row) : auditHash(row);
      return { hash, headMac: auditHeadMac(d.key, { seq: row.seq, hash, keyedFrom }) };
    };
  }

  /** Appends an event. */
  async record(input: AuditInput): Promise<AuditEvent> {
    const at = this.d.clock.now();
    const draft: AuditDraft = {
      ...input,
      id: newId(at),
      at,
      detail: input.detail ? canonicalJson(input.detail) : null,
    };
    return this.d.store.append(draft, this.#seal);
  }

  /** One organization's events, newest first. */
  list(orgId: string, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
    return this.d.store.list(orgId, filter, page);
  }

  /** Walks the whole chain and names the first row that does not fit. */
  async verify(batch = 1000): Promise<AuditVerdict> {
    const head = await this.d.store.head();
    const keyedFrom = head?.keyedFrom ?? 1;
    let prevHash = AUDIT_GENESIS;
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
        const keyed = row.seq >= keyedFrom;
        const want = keyed ? keyedAuditHash(this.d.key, rest) : auditHash(rest);
        if (!safeEqual(want, hash))
          return bad(
            `row ${row.seq} was edited: its content does not match its ${keyed ? 'keyed hash (HMAC)' : 'hash'}` +
              (row.seq === keyedFrom
                ? ' (or the master key is not the one the log was written with)'
                : ''),
          );
        prevHash = hash;
        expected++;
        count++;
      }
      if (rows.length < batch) break;
    }
    const last = expected - 1;
    if (!head && last === 0) return { ok: true, count, headSeq: 0, keyedFrom };
    const broken = (reason: string): AuditVerdict => ({
      ok: false,
      count,
      seq: head?.seq ?? last,
      id: null,
      reason,
    });
    if (!head || head.seq !== last || head.hash !== prevHash) {
      return broken(
        head && head.seq > last
          ? `rows ${last + 1}…${head.seq} are missing (deleted from the end)`
          : 'the chain head does not match the last row',
      );
    }
    if (keyedFrom < 1 || keyedFrom > last + 1)
      return broken(`the chain head says keying starts at row ${keyedFrom}, past the end`);
    // Once a keyed row exists, the head must carry its MAC: it binds the last row (so rows cut
    // from the end are noticed) and keyedFrom (so keyed rows cannot be passed off as older ones).
    if (last >= keyedFrom) {
      const mac = auditHeadMac(this.d.key, { seq: head.seq, hash: head.hash, keyedFrom });
      if (head.mac === null || !safeEqual(mac, head.mac))
        return broken(
          'the chain head does not carry a valid MAC (the head or where keying starts was rewritten, or the master key is not the one this log was written with)',
        );
    }
    return { ok: true, count, headSeq: last, keyedFrom };
  }
}
