import type { Pool } from 'pg';
import type { ActorType, AuditEvent, AuditStore } from '@bulwark/core';
import { decodeSeqCursor, encodeSeqCursor, pageSize } from './codec.js';
import { query, transaction } from './db.js';

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
export function createAuditStore(pool: Pool): AuditStore {
  return {
    async append(draft, seal) {
      return transaction(pool, async (c) => {
        // FOR UPDATE on the single head row serializes appends from every hub node: the next
        // appender blocks here until this transaction commits, then reads the new head.
        const h = await query<{ seq: number; hash: string }>(
          c,
          'SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE',
        );
        const head = h.rows[0];
        if (head === undefined) throw new Error('audit_head row is missing');
        const row: Omit<AuditEvent, 'hash'> = { ...draft, seq: head.seq + 1, prevHash: head.hash };
        const event: AuditEvent = { ...row, hash: seal({ ...row }) };
        await query(
          c,
          `INSERT INTO audit_events (seq, id, org_id, at, actor_type, actor_id, action, target_type,
             target_id, source, result, detail, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
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
          ],
        );
        await query(c, 'UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [
          event.seq,
          event.hash,
        ]);
        return event;
      });
    },
    async list(orgId, filter, page) {
      const values: unknown[] = [orgId];
      const where = ['org_id = $1'];
      const add = (sql: (p: string) => string, value: unknown): void => {
        values.push(value);
        where.push(sql(`$${values.length}`));
      };
      if (filter.from !== undefined) add((p) => `at >= ${p}`, filter.from);
      if (filter.to !== undefined) add((p) => `at <= ${p}`, filter.to);
      if (filter.action !== undefined) add((p) => `action = ${p}`, filter.action);
      if (filter.actorId !== undefined) add((p) => `actor_id = ${p}`, filter.actorId);
      if (filter.targetId !== undefined) add((p) => `target_id = ${p}`, filter.targetId);
      if (page.cursor != null) add((p) => `seq < ${p}`, decodeSeqCursor(page.cursor));
      const limit = pageSize(page.limit);
      values.push(limit + 1);
      const r = await query<AuditRow>(
        pool,
        `SELECT * FROM audit_events WHERE ${where.join(' AND ')}
         ORDER BY seq DESC LIMIT $${values.length}`,
        values,
      );
      const items = r.rows.slice(0, limit).map(toEvent);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: r.rows.length > limit && last ? encodeSeqCursor(last.seq) : null,
      };
    },
    async scan(afterSeq, limit) {
      const r = await query<AuditRow>(
        pool,
        'SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2',
        [afterSeq, pageSize(limit)],
      );
      return r.rows.map(toEvent);
    },
    async head() {
      const r = await query<{ seq: number; hash: string }>(
        pool,
        'SELECT seq, hash FROM audit_head WHERE id = 1',
      );
      const row = r.rows[0];
      return row && row.seq > 0 ? { seq: row.seq, hash: row.hash } : undefined;
    },
  };
}
