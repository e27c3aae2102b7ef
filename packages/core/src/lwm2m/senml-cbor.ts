/**
 * SenML CBOR (Content-Format 112, RFC 8428 §6) as LwM2M 1.1 uses it (Core §7.4.5): integer labels,
 * names that are paths ("/3/0/" + "9"), and the LwM2M extension "vlo" (an object link, a text key).
 * LwM2M names begin with "/", which RFC 8428's name rule forbids, so `@bulwark/senml`'s validating
 * parser cannot take them: this decodes to the same records SenML JSON gives (`content.ts`), on
 * core's own CBOR (`cbor.ts`).
 */
import { BulwarkError } from '@bulwark/protocol';
import { decodeCbor, encodeCbor, type CborValue } from './cbor.js';
import type { Lwm2mRecord } from './content.js';

/** RFC 8428 Table 6 labels LwM2M uses; "vlo" (object link) has no integer label. */
const LABEL: Record<number, string> = {
  [-3]: 'bt',
  [-2]: 'bn',
  [-1]: 'bver',
  0: 'n',
  2: 'v',
  3: 'vs',
  4: 'vb',
  6: 't',
  8: 'vd',
};
/** Labels a record may carry but the server does not use (units, sums, base value/sum/unit). */
const IGNORED = new Set([-6, -5, -4, 1, 5, 7]);

/** A SenML record with its labels by name, values as CBOR gave them ("vd" as base64). */
export type SenmlFields = Record<string, unknown>;

/** Decodes a SenML CBOR pack into named-label records; malformed input is `validation_failed`. */
export function readSenmlCbor(payload: Uint8Array): SenmlFields[] {
  let root: unknown;
  try {
    root = decodeCbor(payload);
  } catch (err) {
    throw bad(`malformed CBOR (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!Array.isArray(root)) throw bad('a SenML CBOR pack is an array');
  return root.map((item: unknown, i) => {
    if (!(item instanceof Map)) throw bad(`record ${i} is not a CBOR map`);
    const out: SenmlFields = {};
    for (const [k, v] of item as Map<unknown, unknown>) {
      if (k === 'vlo') out['vlo'] = v;
      else if (typeof k === 'number' && LABEL[k] !== undefined)
        out[LABEL[k]] = v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
      else if (typeof k === 'number' && IGNORED.has(k)) continue;
      else throw bad(`record ${i} has an unknown label ${JSON.stringify(String(k))}`);
    }
    return out;
  });
}

/**
 * Encodes records as SenML CBOR: the first carries base name `bn` (names relative to it), numbers
 * as "v", strings "vs", booleans "vb", times "t".
 */
export function encodeSenmlCbor(records: readonly Lwm2mRecord[], bn = ''): Uint8Array {
  const pack = records.map((r, i) => {
    const m = new Map<CborValue, CborValue>();
    if (i === 0 && bn !== '') m.set(-2, bn);
    const n = r.path.startsWith(bn) ? r.path.slice(bn.length) : r.path;
    if (n !== '') m.set(0, n);
    m.set(typeof r.value === 'number' ? 2 : typeof r.value === 'boolean' ? 4 : 3, r.value);
    if (r.time !== undefined) m.set(6, r.time);
    return m;
  });
  return encodeCbor(pack);
}

function bad(why: string): BulwarkError {
  return new BulwarkError('validation_failed', `LwM2M SenML CBOR: ${why}`);
}
