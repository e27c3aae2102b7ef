import type { Database } from 'better-sqlite3';
import type { Envelope } from '@bulwark/core';
import { messageValues } from '@bulwark/store-sql';

/**
 * The one transaction that appends a batch of envelopes (messages and their SenML values) on `db`
 * (BEGIN IMMEDIATE: the write lock up front): shared by the main connection and the writer thread.
 */
export function createAppend(db: Database): (envelopes: readonly Envelope[]) => void {
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, org_id, channel_id, subtopic, publisher_type, publisher_id,
       protocol, content_type, received_at, payload, senml, origin)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING`,
  );
  const insertValue = db.prepare(
    `INSERT INTO senml_values (message_id, idx, org_id, channel_id, name, t, v, vs, vb, vd, u, s,
       received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const append = db.transaction((envelopes: readonly Envelope[]): void => {
    for (const e of envelopes) {
      const inserted = insertMessage.run(...messageValues(e));
      // A repeated id (a retried batch) was stored before, with its values: skip both.
      if (inserted.changes === 0) continue;
      e.senml?.forEach((r, idx) => {
        insertValue.run(
          e.id,
          idx,
          e.orgId,
          e.channelId,
          r.n,
          r.t,
          r.v ?? null,
          r.vs ?? null,
          r.vb === undefined ? null : r.vb ? 1 : 0,
          r.vd ?? null,
          r.u ?? null,
          r.s ?? null,
          e.receivedAt,
        );
      });
    }
  });
  return (envelopes) => append.immediate(envelopes);
}
