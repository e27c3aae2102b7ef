/** Test helpers: packs written as the RFC prints them, and their CBOR form built directly with cbor-x. */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Encoder } from 'cbor-x/encode';
import { BulwarkError } from '@bulwark/protocol';

/** A fixed "now" (epoch ms) for relative times: 2011-10-31T16:27:09Z, the RFC's own example clock. */
export const NOW = 1_320_078_429_000;

/** RFC 8428 Table 6. */
const LABELS: Record<string, number> = {
  bver: -1,
  bn: -2,
  bt: -3,
  bu: -4,
  bv: -5,
  bs: -6,
  n: 0,
  u: 1,
  v: 2,
  vs: 3,
  vb: 4,
  s: 5,
  t: 6,
  ut: 7,
  vd: 8,
};

const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

/** UTF-8 bytes of a JSON pack. */
export function json(pack: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(pack));
}

/** The same pack in CBOR: integer labels, "vd" as a byte string, other labels as text keys. */
export function cbor(pack: readonly Record<string, unknown>[]): Uint8Array {
  return cborRaw(
    pack.map(
      (record) =>
        new Map(
          Object.entries(record).map(([k, v]) => [
            LABELS[k] ?? k,
            k === 'vd' && typeof v === 'string' ? Buffer.from(v, 'base64url') : v,
          ]),
        ),
    ),
  );
}

/** Any value encoded with cbor-x (byte strings untagged). */
export function cborRaw(value: unknown): Uint8Array {
  return Uint8Array.from(encoder.encode(value));
}

/** Asserts `fn` throws `senml_invalid` with a message matching `message`. */
export function assertInvalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BulwarkError, `expected a BulwarkError, got ${String(err)}`);
    assert.equal(err.code, 'senml_invalid');
    assert.match(err.message, message);
    return true;
  });
}
