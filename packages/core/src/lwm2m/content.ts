/**
 * Payloads of LwM2M reads, notifications and Send, decoded into (path, value) records: TLV (11542),
 * LwM2M JSON (11543, 1.0), SenML JSON (110, 1.1 Core §7.4.4), SenML CBOR (112, §7.4.5) and
 * text/plain (0) for one resource.
 */
import { BulwarkError } from '@bulwark/protocol';
import { formatPath, parsePath, type Lwm2mPath } from './path.js';
import { guessType, resourceType } from './model.js';
import { readSenmlCbor } from './senml-cbor.js';
import { decodeTlv, tlvValue, type Lwm2mValue, type TlvEntry } from './tlv.js';

/** One resource (instance) value read from a device. */
export interface Lwm2mRecord {
  /** "/3/0/13" or "/3/0/6/1". */
  path: string;
  value: Lwm2mValue;
  /** Seconds since the epoch, when the device gave a time. */
  time?: number;
}

/** The Content-Formats this server decodes (IANA CoAP registry). */
export const LWM2M_FORMATS = {
  text: 0,
  opaque: 42,
  senmlJson: 110,
  senmlCbor: 112,
  tlv: 11542,
  json: 11543,
} as const;

/** Decodes a payload of `format` answering a request on `base` (the request's path). */
export function decodeContent(format: number, payload: Uint8Array, base: Lwm2mPath): Lwm2mRecord[] {
  switch (format) {
    case LWM2M_FORMATS.tlv:
      return fromTlv(decodeTlv(payload), base);
    case LWM2M_FORMATS.senmlJson:
      return fromSenml(parseJson(payload));
    case LWM2M_FORMATS.senmlCbor:
      return fromSenml(readSenmlCbor(payload));
    case LWM2M_FORMATS.json:
      return fromLwm2mJson(payload);
    case LWM2M_FORMATS.text: {
      if (base.length < 3) throw bad('text/plain carries one resource only');
      const s = Buffer.from(payload).toString('utf8');
      const t = resourceType(base[0]!, base[2]!);
      const n = Number(s);
      const value =
        t === 'string' || s === '' || Number.isNaN(n) ? s : t === 'boolean' ? s === '1' : n;
      return [{ path: formatPath(base), value }];
    }
    default:
      throw new BulwarkError('unsupported_media_type', `Content-Format ${format} is not decoded`);
  }
}

/** TLV below `base`: an object's instances, an instance's resources, or one resource. */
function fromTlv(entries: TlvEntry[], base: Lwm2mPath): Lwm2mRecord[] {
  const out: Lwm2mRecord[] = [];
  const objectId = base[0]!;
  const walk = (es: TlvEntry[], prefix: number[]) => {
    for (const e of es) {
      // A read of /3/0 may answer with the resources only or wrapped in their instance.
      const here = e.kind === 'resource' && prefix.length === 3 ? prefix : [...prefix, e.id];
      if (e.children) {
        walk(e.children, here);
        continue;
      }
      const resourceId = here[2];
      if (resourceId === undefined) throw bad(`a value at ${formatPath(here)} is not a resource`);
      const raw = e.value!;
      out.push({
        path: formatPath(here),
        value: tlvValue(raw, resourceType(objectId, resourceId) ?? guessType(raw)),
      });
    }
  };
  walk(entries, base.length > 3 ? base.slice(0, 3) : base);
  return out;
}

/** The name of a SenML/LwM2M JSON record, base name first, as a path. */
function recordPath(bn: string, n: string): string {
  return formatPath(parsePath(bn + n));
}

interface SenmlJsonRecord {
  bn?: unknown;
  bt?: unknown;
  n?: unknown;
  t?: unknown;
  v?: unknown;
  vs?: unknown;
  vb?: unknown;
  vd?: unknown;
  vlo?: unknown;
}

/** SenML records (JSON, or CBOR with its labels named) into path/value records. */
function fromSenml(recs: unknown): Lwm2mRecord[] {
  if (!Array.isArray(recs)) throw bad('SenML is an array of records');
  let bn = '';
  let bt = 0;
  const out: Lwm2mRecord[] = [];
  for (const r of recs as SenmlJsonRecord[]) {
    if (typeof r !== 'object' || r === null) throw bad('a SenML record is an object');
    if (r.bn !== undefined) bn = str(r.bn, 'bn');
    if (r.bt !== undefined) bt = num(r.bt, 'bt');
    const path = recordPath(bn, r.n === undefined ? '' : str(r.n, 'n'));
    const value =
      r.v !== undefined
        ? num(r.v, 'v')
        : r.vs !== undefined
          ? str(r.vs, 'vs')
          : r.vb !== undefined
            ? bool(r.vb, 'vb')
            : r.vd !== undefined
              ? str(r.vd, 'vd')
              : r.vlo !== undefined
                ? str(r.vlo, 'vlo')
                : undefined;
    if (value === undefined) continue; // a record without a value (e.g. a time base) names nothing
    const t = r.t !== undefined ? num(r.t, 't') + bt : bt !== 0 ? bt : undefined;
    out.push({ path, value, ...(t !== undefined ? { time: t } : {}) });
  }
  return out;
}

function fromLwm2mJson(payload: Uint8Array): Lwm2mRecord[] {
  const doc = parseJson(payload) as { bn?: unknown; bt?: unknown; e?: unknown };
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.e)) {
    throw bad('LwM2M JSON is an object with an "e" array');
  }
  const bn = doc.bn === undefined ? '' : str(doc.bn, 'bn');
  const out: Lwm2mRecord[] = [];
  for (const e of doc.e as {
    n?: unknown;
    v?: unknown;
    sv?: unknown;
    bv?: unknown;
    ov?: unknown;
  }[]) {
    const path = recordPath(bn, e.n === undefined ? '' : str(e.n, 'n'));
    const value =
      e.v !== undefined
        ? num(e.v, 'v')
        : e.sv !== undefined
          ? str(e.sv, 'sv')
          : e.bv !== undefined
            ? bool(e.bv, 'bv')
            : e.ov !== undefined
              ? str(e.ov, 'ov')
              : undefined;
    if (value !== undefined) out.push({ path, value });
  }
  return out;
}

function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    throw new BulwarkError('validation_failed', 'LwM2M: the payload is not JSON', { cause: err });
  }
}
const str = (v: unknown, f: string): string => {
  if (typeof v !== 'string') throw bad(`"${f}" must be a string`);
  return v;
};
const num = (v: unknown, f: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`"${f}" must be a number`);
  return v;
};
const bool = (v: unknown, f: string): boolean => {
  if (typeof v !== 'boolean') throw bad(`"${f}" must be a boolean`);
  return v;
};
function bad(why: string): BulwarkError {
  return new BulwarkError('validation_failed', `LwM2M: ${why}`);
}
