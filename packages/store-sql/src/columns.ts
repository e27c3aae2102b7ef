/**
 * The driver-side types of the columns the two databases store differently: SQLite has no BOOLEAN
 * or array type (0/1 integers, JSON text), PostgreSQL returns `boolean` and `text[]` as such.
 */
export interface ColumnTypes {
  /** A boolean column as the driver returns it. */
  bool: unknown;
  /** A list-of-strings column as the driver returns it. */
  strings: unknown;
}

/** One adapter's decoding of its dialect-specific column values into record values. */
export interface ColumnCodec<T extends ColumnTypes> {
  /** A boolean column's value as a boolean. */
  bool(value: T['bool']): boolean;
  /** A list-of-strings column's value as a string array. */
  strings(value: T['strings']): string[];
}
