import type { Pool } from 'pg';
import {
  decodeSeqCursor,
  encodeSeqCursor,
  pageSize,
  type AuditEvent,
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
import { query, transaction } from './db.js';

/** The audit_events chain and its audit_head row behind the AuditStore port. */
export function createAuditStore(pool: Pool): AuditStore {
  return {
    async append(draft, seal) {
      return transaction(pool, async (c) => {
        // FOR UPDATE on the single head row serializes appends from every hub node: the next
        // appender blocks here until this transaction commits, then reads the new head.
        const h = await query<AuditHeadRow>(
          c,
          'SELECT seq, hash, keyed_from, mac FROM audit_head WHERE id = 1 FOR UPDATE',
        );
        const head = h.rows[0];
        if (head === undefined) throw new Error('audit_head row is missing');
        const row: Omit<AuditEvent, 'hash'> = { ...draft, seq: head.seq + 1, prevHash: head.hash };
        const sealed = seal({ ...row }, { keyedFrom: head.keyed_from });
        const event: AuditEvent = { ...row, hash: sealed.hash };
        await query(
          c,
          `INSERT INTO audit_events (seq, id, org_id, at, actor_type, actor_id, action, target_type,
             target_id, source, result, detail, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          auditEventValues(event),
        );
        await query(c, 'UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1', [
          event.seq,
          event.hash,
          sealed.headMac,
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
      return pageOf(r.rows, limit, toAuditEvent, (last) => encodeSeqCursor(last.seq));
    },
    async scan(afterSeq, limit) {
      const r = await query<AuditRow>(
        pool,
        'SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2',
        [afterSeq, pageSize(limit)],
      );
      return r.rows.map(toAuditEvent);
    },
    async head() {
      const r = await query<AuditHeadRow>(
        pool,
        'SELECT seq, hash, keyed_from, mac FROM audit_head WHERE id = 1',
      );
      return toAuditHead(r.rows[0]);
    },
  };
}
