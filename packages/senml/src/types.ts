/**
 * The shapes this package reads and writes: the resolved record the hub stores (structurally the same
 * as `SenmlRecord` in `@bulwark/core`'s messaging port, which this browser-safe package cannot import),
 * and the record as written, before resolution.
 */

/** One resolved SenML record (RFC 8428 §4.6: base values applied, times absolute, in seconds). */
export interface SenmlRecord {
  /** Full name: base name + name. */
  n: string;
  /** Unit, if any. */
  u?: string;
  /** Exactly one of v, vs, vb, vd is set, unless only `s` is. */
  v?: number;
  vs?: string;
  vb?: boolean;
  /** Data value, base64url. */
  vd?: string;
  /** Sum. */
  s?: number;
  /** Absolute time, seconds since the epoch (may be fractional). */
  t: number;
  /** Update time hint, seconds. */
  ut?: number;
}

/** One record as written (RFC 8428 §4.1–4.2): every field type-checked, nothing resolved yet. */
export interface RawRecord {
  bn?: string;
  bt?: number;
  bu?: string;
  bv?: number;
  bs?: number;
  bver?: number;
  n?: string;
  u?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  /** Always canonical base64url here, whichever representation it arrived in. */
  vd?: string;
  s?: number;
  t?: number;
  ut?: number;
}

/** A SenML label this package understands (RFC 8428 Table 4). */
export type SenmlLabel = keyof RawRecord;

/** The two SenML representations this package reads and writes. */
export type SenmlFormat = 'json' | 'cbor';

/** Options of `parseSenml`. */
export interface ParseSenmlOptions {
  /** Epoch milliseconds that relative times (RFC 8428 §4.5.3) count from; defaults to `Date.now()`. */
  now?: number;
  /** Most records a pack may hold (base-only records included); defaults to 1000. */
  maxRecords?: number;
}
