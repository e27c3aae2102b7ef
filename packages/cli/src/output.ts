/** One column of a table: its header and how to read the cell from a row. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 timestamp shortened to `YYYY-MM-DD HH:MM:SS` in UTC; other strings unchanged. */
export function shortTime(value: string): string {
  if (!ISO_TIME.test(value)) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** How a cell value prints: `-` for nothing, lists comma-joined, timestamps shortened. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(formatValue).join(',');
  if (typeof value === 'string') return shortTime(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value) ?? '-';
}

/** Renders rows as an aligned table: a header row, then one line per row, columns two spaces apart. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [
    columns.map((c) => c.header),
    ...rows.map((row) => columns.map((c) => formatValue(c.value(row)))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]?.length ?? 0)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Renders label/value pairs as aligned `label  value` lines (for a single object). */
export function formatFields(fields: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${formatValue(value)}\n`).join('');
}

/** What every list prints under `--json`: its items and the cursor of the next page, if any. */
export interface ListJson<T> {
  items: readonly T[];
  nextCursor: string | null;
}

/**
 * The one JSON shape of a list (decision 0029): `{"items": [...], "nextCursor": null | "..."}`,
 * whether the hub pages it or not and with or without `--all`.
 */
export function listJson<T>(items: readonly T[], nextCursor: string | null = null): ListJson<T> {
  return { items, nextCursor };
}
