import type { Page } from '@bulwark/core';

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
