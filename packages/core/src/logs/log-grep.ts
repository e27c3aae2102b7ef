/**
 * The text filter of a log query (decision 0032): a substring (case-insensitive, run by the
 * database) or a regular expression run by the hub. A regular expression is compiled with V8's
 * linear-time engine (the `l` flag; the hub enables it at start with
 * `--enable-experimental-regexp-engine`), so no pattern can backtrack catastrophically: what the
 * engine cannot run in linear time (back-references, look-arounds, the `i` flag) is refused with
 * a clear reason. How much text one request may scan is bounded too (`REGEX_SCAN_BOUND`).
 */
import { BulwarkError } from '@bulwark/protocol';

/**
 * What one regex query may scan before it answers with what it found and a cursor to go on:
 * 5,000 records or 4 MiB of text. At ~3 ms per 8 KiB line for the worst linear pattern this keeps
 * a request near a second.
 */
export const REGEX_SCAN_BOUND = { rows: 5000, chars: 4 * 1024 * 1024 } as const;

/** A message test, or undefined for "every message". */
export type MessageTest = (message: string) => boolean;

/** Compiles `pattern` for the linear-time engine, or refuses it with `log_query_invalid`. */
export function compileLogRegex(pattern: string): MessageTest {
  let re: RegExp;
  try {
    // eslint-disable-next-line no-invalid-regexp -- `l` is V8's linear-time engine (enabled by the hub)
    re = new RegExp(pattern, 'l');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (/flags/i.test(why))
      throw new BulwarkError(
        'log_query_invalid',
        'regular-expression search is not enabled on this hub (it needs the linear-time engine)',
      );
    throw new BulwarkError(
      'log_query_invalid',
      `the regular expression cannot be used: ${why.replace(/^Invalid regular expression: /, '')} ` +
        '(only the linear-time subset: no back-references, look-arounds or case-insensitive flag)',
    );
  }
  return (m) => re.test(m);
}
