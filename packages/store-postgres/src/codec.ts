import type { ColumnCodec } from '@bulwark/store-sql';

/** What pg returns for the dialect-specific columns: BOOLEAN as boolean, text[] as string[]. */
export interface PgColumns {
  bool: boolean;
  strings: string[];
}

/** pg already parses BOOLEAN and text[]: both decode as they are. */
export const PG_COLUMNS: ColumnCodec<PgColumns> = {
  bool: (value) => value,
  strings: (value) => value,
};
