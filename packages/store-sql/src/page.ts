import { decodeIdCursor, type Page, type PageRequest } from '@bulwark/core';
import type { SqlRunner } from './management-stores.js';

/**
 * The page made of `rows` fetched with LIMIT `limit + 1`: the first `limit` mapped, and a cursor
 * to the last of them only when the extra row shows that more follow.
 */
export function pageOf<R, T>(
  rows: readonly R[],
  limit: number,
  toItem: (row: R) => T,
  cursorOf: (last: T) => string,
): Page<T> {
  const items = rows.slice(0, limit).map(toItem);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null,
  };
}

/**
 * A newest-first page of one table (ids are time-ordered UUIDv7): the columns with a defined value
 * must equal it; the cursor is the last id seen. Fetches `page.limit + 1` rows (see `pageOf`).
 */
export function newestFirst<R extends { id: string }>(
  db: SqlRunner,
  table: string,
  equal: Record<string, unknown>,
  page: PageRequest,
): Promise<R[]> {
  const set = Object.entries(equal).filter(([, v]) => v !== undefined);
  const where = set.map(([column]) => `${column} = ?`);
  const params = set.map(([, v]) => v);
  if (page.cursor) {
    where.push('id < ?');
    params.push(decodeIdCursor(page.cursor));
  }
  return db.all<R>(`SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`, [
    ...params,
    page.limit + 1,
  ]);
}
