import type { Database } from 'better-sqlite3';

/**
 * Per-connection settings for the telemetry write path, set on the main connection and on the
 * message writer thread's (both commit, and SQLite checkpoints from whichever connection commits
 * past the threshold). Measured by appending 1,000-envelope batches of 10 SenML records
 * (`bench:write-path`'s shape, 10,000 series; docs/benchmarks.md, 2026-12-07):
 *
 * - `wal_autocheckpoint` 10,000 pages (~40 MB) instead of 1,000: every batch dirties the same
 *   series-index leaf pages again, and a checkpoint every few commits copied each of them back to
 *   the database file each time; with the longer interval a page rewritten by many commits is
 *   copied once. 22.6 → 17.1 µs per record (10,000 series), 9.7 → 7.0 (10 series).
 * - `cache_size` 64 MiB instead of SQLite's 2 MiB: the series index's working set stays in the
 *   page cache (17.1 → 15.5 µs per record with 10,000 series). A ceiling, not an allocation.
 * - `journal_size_limit` 64 MiB: the WAL file is truncated back to it after a checkpoint instead
 *   of keeping its largest size on disk.
 */
export const INGEST_PRAGMAS = [
  'wal_autocheckpoint = 10000',
  'cache_size = -65536',
  'journal_size_limit = 67108864',
] as const;

/** Applies INGEST_PRAGMAS to `db` (a WAL database). */
export function tuneForIngest(db: Database): void {
  for (const p of INGEST_PRAGMAS) db.pragma(p);
}
