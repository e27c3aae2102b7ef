import type { Database } from 'better-sqlite3';
import type { ActorType, AuditDraft, AuditEvent, AuditStore } from '@bulwark/core';
import { decodeSeqCursor, encodeSeqCursor, pageSize } from './codec.js';

interface AuditRow {
  seq: number;
  id: string;
  org_id: string | null;
  at: number;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  source: string | null;
  result: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

const toEvent = (r: AuditRow): AuditEvent => ({
  seq: r.seq,
  id: r.id,
  orgId: r.org_id,
  at: r.at,
  actorType: r.actor_type as ActorType,
  actorId: r.actor_id,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  source: r.source,
  result: r.result as AuditEvent['result'],
  detail: r.detail,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** The audit_events chain and its audit_head row behind the AuditStore port. */
export function createAuditStore(db: Database): AuditStore {
  // better-sqlite3 is synchronous and BEGIN IMMEDIATE takes the write lock up front, so appends
  // from this and any other process on the same file are serialized.
  const append = db.transaction(
    (draft: AuditDraft, seal: (row: Omit<AuditEvent, 'hash'>) => string): AuditEvent => {
      const head = db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as {
        seq: number;
        hash: string;
      };
      const row: Omit<AuditEvent, 'hash'> = { ...draft, seq: head.seq + 1, prevHash: head.hash };
      const event: AuditEvent = { ...row, hash: seal({ ...row }) };
      db.prepare(
        `INSERT INTO audit_events (seq, id, org_id, at, actor_type, actor_id, action, target_type,
           target_id, source, result, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        event.seq,
        event.id,
        event.orgId,
        event.at,
        event.actorType,
        event.actorId,
        event.action,
        event.targetType,
        event.targetId,
        event.source,
        event.result,
        event.detail,
        event.prevHash,
        event.hash,
      );
      db.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(event.seq, event.hash);
      return event;
    },
  );
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
      const items = rows.slice(0, limit).map(toEvent);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeSeqCursor(last.seq) : null };
    },
    async scan(afterSeq, limit) {
      const rows = db
        .prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(afterSeq, pageSize(limit)) as AuditRow[];
      return rows.map(toEvent);
    },
    async head() {
      const row = db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as
        { seq: number; hash: string } | undefined;
      return row && row.seq > 0 ? { seq: row.seq, hash: row.hash } : undefined;
    },
  };
}
