/**
 * HTTP `Range` for artifact downloads (RFC 9110 §14.1.2): one `bytes=` range, in any of its three
 * forms. Several ranges in one header (multipart/byteranges) are not served: the whole body is
 * sent instead, which the RFC allows.
 */
import type { ByteRange } from '../ports/blobs.js';

/**
 * What to send for a `Range` header on a body of `length` bytes: the whole body (`full`: no
 * header, a unit other than bytes, several ranges, or a header we ignore as the RFC permits for
 * syntax errors), one `range` (206), or `unsatisfiable` (416 with `Content-Range: bytes *\/len`).
 */
export type RangeDecision =
  { kind: 'full' } | { kind: 'range'; range: ByteRange } | { kind: 'unsatisfiable' };

const ONE_RANGE = /^bytes=(\d*)-(\d*)$/;

export function decideRange(header: string | undefined, length: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const m = ONE_RANGE.exec(header.replace(/\s+/g, ''));
  if (!m) return { kind: 'full' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    // suffix: the last N bytes
    const n = Number(last);
    if (!Number.isSafeInteger(n) || n === 0 || length === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, length - n), end: length - 1 } };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= length) return { kind: 'unsatisfiable' };
  if (last === '') return { kind: 'range', range: { start, end: length - 1 } };
  const end = Number(last);
  if (!Number.isSafeInteger(end) || end < start) return { kind: 'full' }; // invalid: ignore
  return { kind: 'range', range: { start, end: Math.min(end, length - 1) } };
}

/** The `Content-Range` value for a 206 (`range`) or a 416 (no range). */
export function contentRange(length: number, range?: ByteRange): string {
  return range ? `bytes ${range.start}-${range.end}/${length}` : `bytes */${length}`;
}
