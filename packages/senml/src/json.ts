/** The JSON representation, application/senml+json (RFC 8428 §5). */
import {
  checkCount,
  checkUnknownLabel,
  invalid,
  invalidPack,
  isSenmlLabel,
  setField,
} from './validate.js';
import type { RawRecord, SenmlRecord } from './types.js';

// RFC 8428 §5: only the UTF-8 form of JSON is allowed, so malformed UTF-8 is refused, not replaced.
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Reads a SenML JSON pack into type-checked records, refusing the whole pack on any fault. */
export function readJsonPack(payload: Uint8Array, maxRecords: number): RawRecord[] {
  let root: unknown;
  try {
    root = JSON.parse(utf8.decode(payload));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw invalidPack(`malformed JSON: ${why}`, err);
  }
  if (!Array.isArray(root)) throw invalidPack('a SenML pack must be a JSON array (RFC 8428 §5)');
  checkCount(root.length, maxRecords);
  return root.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(index, undefined, 'must be a JSON object (RFC 8428 §5)');
    }
    const record: RawRecord = {};
    // A parsed JSON object has only own enumerable keys: for…in spares an array per label.
    const fields = item as Record<string, unknown>;
    for (const label in fields) {
      if (isSenmlLabel(label)) setField(record, index, label, fields[label], 'json');
      else checkUnknownLabel(index, label);
    }
    return record;
  });
}

/** Writes resolved records as a SenML JSON pack. */
export function writeJsonPack(records: readonly SenmlRecord[]): Uint8Array {
  return encoder.encode(JSON.stringify(records));
}
