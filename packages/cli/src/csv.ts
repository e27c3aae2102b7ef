/**
 * A small RFC 4180 reader for `bulwark device import`: comma-separated fields, double-quoted
 * fields that may hold commas, quotes (`""`) and line breaks, CRLF or LF records, a UTF-8 BOM
 * ignored. Each record carries the line it starts on, so a report can point at the file. Written
 * here rather than taken from a library: it is this small, and the CLI's start-up time counts.
 */

/** One record: its fields and the 1-based line it starts on. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Thrown for text that is not CSV (an unterminated quote, text after a closing quote). */
export class CsvError extends Error {
  override readonly name = 'CsvError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Parses CSV text into records; blank lines are skipped. */
export function parseCsv(text: string): CsvRecord[] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (s[i] === '"') {
        i++;
        for (;;) {
          if (i >= s.length) throw new CsvError('a quoted field is not closed', start);
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r')
          throw new CsvError('text after a closing quote', line);
      } else {
        while (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') {
          if (s[i] === '"') throw new CsvError('a quote inside an unquoted field', line);
          field += s[i];
          i++;
        }
      }
      fields.push(field);
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (s[i] === '\r') i++;
    if (s[i] === '\n') i++;
    line++;
    if (!(fields.length === 1 && fields[0] === '')) out.push({ line: start, fields });
  }
  return out;
}

/** A field for a CSV line: quoted when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
