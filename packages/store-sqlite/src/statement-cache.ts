import type { Database, Statement } from 'better-sqlite3';

/**
 * Statements kept per connection. The stores' SQL is a fixed set of texts (a few hundred, the
 * dynamic list filters included), so the cache reaches a steady state well under this; past it
 * the oldest statement is dropped, so a query built with an unbounded shape cannot grow it.
 */
export const STATEMENT_CACHE_MAX = 1000;

/**
 * Makes `db.prepare` return one prepared statement per SQL text instead of compiling the text
 * again on every call (issue 12: SQLite's prepare was ~30 µs of every store call, and a device's
 * connect makes several — ten thousand devices reconnecting at once paid it tens of thousands of
 * times). A better-sqlite3 statement may be run any number of times; the stores only `run`, `get`
 * and `all` them (never `iterate`, `pluck`, `raw` or `expand`, which would be state kept on a
 * shared statement), and the database is used by one thread.
 */
export function cachePreparedStatements(db: Database, max = STATEMENT_CACHE_MAX): void {
  const prepare = db.prepare.bind(db) as (sql: string) => Statement;
  const cache = new Map<string, Statement>();
  db.prepare = ((sql: string) => {
    let st = cache.get(sql);
    if (st === undefined) {
      st = prepare(sql);
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(sql, st);
    }
    return st;
  }) as Database['prepare'];
}
