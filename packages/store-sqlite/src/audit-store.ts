import type { Database } from 'better-sqlite3';
import {
  decodeSeqCursor,
  encodeSeqCursor,
  pageSize,
  type AuditDraft,
  type AuditEvent,
  type AuditSeal,
  type AuditStore,
} from '@bulwark/core';
import {
  auditEventValues,
  pageOf,
  toAuditEvent,
  toAuditHead,
  type AuditHeadRow,
  type AuditRow,
} from '@bulwark/store-sql';

/** The audit_events chain and its audit_head row behind the AuditStore port. */
export function createAuditStore(db: Database): AuditStore {
  // better-sqlite3 is synchronous and BEGIN IMMEDIATE takes the write lock up front, so appends
  // from this and any other process on the same file are serialized.
  const append = db.transaction((draft: AuditDraft, seal: AuditSeal): AuditEvent => {
    const head = db
      .prepare('SELECT seq, hash, keyed_from, mac FROM audit_head WHERE id = 1')
      .get() as AuditHeadRow;
    const row: Omit<AuditEvent, 'hash'> = { ...draft, seq: head.seq + 1, prevHash: head.hash };
    const sealed = seal({ ...row }, { keyedFrom: head.keyed_from });
    const event: AuditEvent = { ...row, hash: sealed.hash };
    db.prepare(
      `INSERT INTO audit_events (seq, id, org_id, at, actor_type, actor_id, action, target_type,
           target_id, source, result, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...auditEventValues(event));
    db.prepare('UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1').run(
      event.seq,
      event.hash,
      sealed.headMac,
    );
    return event;
  });
  return {
    async append(draft, seal) {
      return append.immediate(draft, seal);
    },
    async list(orgId, filter, page) {
      const where = ['org_id = ?'];
      const values: unknown[] = [orgId];
      if (filter.from !== undefined) {
        where.push('at >= ?');
        values.push(filter.from);
      }
      if (filter.to !== undefined) {
        where.push('at <= ?');
        values.push(filter.to);
      }
      if (filter.action !== undefined) {
        where.push('action = ?');
        values.push(filter.action);
      }
      if (filter.actorId !== undefined) {
        where.push('actor_id = ?');
        values.push(filter.actorId);
      }
      if (filter.targetId !== undefined) {
        where.push('target_id = ?');
        values.push(filter.targetId);
      }
      if (page.cursor != null) {
        where.push('seq < ?');
        values.push(decodeSeqCursor(page.cursor));
      }
      const limit = pageSize(page.limit);
      const rows = db
        .prepare(
          `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`,
        )
        .all(...values, limit + 1) as AuditRow[];
      return pageOf(rows, limit, toAuditEvent, (last) => encodeSeqCursor(last.seq));
    },
    async scan(afterSeq, limit) {
      const rows = db
        .prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(afterSeq, pageSize(limit)) as AuditRow[];
      return rows.map(toAuditEvent);
    },
    async head() {
      return toAuditHead(
        db.prepare('SELECT seq, hash, keyed_from, mac FROM audit_head WHERE id = 1').get() as
          AuditHeadRow | undefined,
      );
    },
  };
}
