/** The CBOR representation, application/senml+cbor (RFC 8428 §6), on cbor-x's pure JS path. */
// The subpath entries load cbor-x's pure JS build: its root entry in Node would try the optional
// native string extractor (cbor-extract), which this package deliberately does not use.
import { Decoder } from 'cbor-x/decode';
import { Encoder } from 'cbor-x/encode';
import { fromBase64url } from './base64url.js';
import {
  checkCount,
  checkUnknownLabel,
  invalid,
  invalidPack,
  isSenmlLabel,
  setField,
} from './validate.js';
import type { RawRecord, SenmlLabel, SenmlRecord } from './types.js';

/** The integer CBOR labels (RFC 8428 Table 6). */
export const CBOR_LABELS = {
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
} as const satisfies Record<SenmlLabel, number>;

const BY_INTEGER = new Map<number, SenmlLabel>(
  Object.entries(CBOR_LABELS).map(([label, key]) => [key, label as SenmlLabel]),
);

// Maps decode as Map (integer keys stay integers); no record structures (a cbor-x extension).
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
// Byte strings untagged (major type 2), as RFC 8428 §6 requires for "vd"; no cbor-x extensions.
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

/** Reads a SenML CBOR pack into type-checked records, refusing the whole pack on any fault. */
export function readCborPack(payload: Uint8Array, maxRecords: number): RawRecord[] {
  let root: unknown;
  try {
    root = decoder.decode(payload);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw invalidPack(`malformed CBOR: ${why}`, err);
  }
  if (!Array.isArray(root)) throw invalidPack('a SenML pack must be a CBOR array (RFC 8428 §6)');
  checkCount(root.length, maxRecords);
  return root.map((item: unknown, index) => {
    if (!(item instanceof Map)) throw invalid(index, undefined, 'must be a CBOR map (RFC 8428 §6)');
    const record: RawRecord = {};
    for (const [key, value] of item as Map<unknown, unknown>) {
      if (typeof key === 'number') {
        // RFC 8428 §6: Table 6 is conclusive; extensions use text keys, so no other integer is valid.
        const label = BY_INTEGER.get(key);
        if (label === undefined) throw invalid(index, String(key), 'is not a SenML CBOR label');
        setField(record, index, label, value, 'cbor');
      } else if (typeof key === 'string') {
        // A registered label sent as text would silently vanish if ignored: refuse it.
        if (isSenmlLabel(key)) {
          throw invalid(index, key, `must use the integer CBOR label ${CBOR_LABELS[key]}`);
        }
        checkUnknownLabel(index, key);
      } else {
        throw invalid(
          index,
          undefined,
          'has a map key that is neither an integer nor a text string',
        );
      }
    }
    return record;
  });
}

/** Writes resolved records as a SenML CBOR pack, with integer labels and "vd" as a byte string. */
export function writeCborPack(records: readonly SenmlRecord[]): Uint8Array {
  const pack = records.map((r) => {
    const map = new Map<number, unknown>();
    for (const [label, value] of Object.entries(r) as [SenmlLabel, unknown][]) {
      if (value === undefined) continue;
      map.set(CBOR_LABELS[label], label === 'vd' ? fromBase64url(value as string) : value);
    }
    return map;
  });
  // Copy out: the encoder may reuse its buffer for the next call.
  return Uint8Array.from(encoder.encode(pack));
}
