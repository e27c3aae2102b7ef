import type { ColumnCodec } from '@bulwark/store-sql';

/** SQLite's storage of the dialect-specific columns: booleans as 0/1, string lists as JSON TEXT. */
export interface SqliteColumns {
  bool: number;
  strings: string;
}

/** Decodes SQLite's 0/1 booleans and JSON-array TEXT columns. */
export const SQLITE_COLUMNS: ColumnCodec<SqliteColumns> = {
  bool: (value) => value !== 0,
  strings: (text) => JSON.parse(text) as string[],
};
