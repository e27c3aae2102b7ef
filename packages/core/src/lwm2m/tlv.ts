/**
 * The LwM2M TLV format (Content-Format 11542; OMA-TS-LightweightM2M-V1_1-20180612-A, Core §7.4.3).
 * Each entry: a type byte (bits 7-6 identifier kind, bit 5 identifier length 8/16, bits 4-3 length
 * field size, bits 2-0 the length itself when the size is 0), the identifier, the length, the value.
 * Values carry no type of their own: the object model gives it (`tlvValue`).
 */
import { BulwarkError } from '@bulwark/protocol';

/** What an entry identifies (Core §7.4.3, type bits 7-6). */
export type TlvKind = 'instance' | 'resourceInstance' | 'multipleResource' | 'resource';

const KIND_BITS: Record<TlvKind, number> = {
  instance: 0b00,
  resourceInstance: 0b01,
  multipleResource: 0b10,
  resource: 0b11,
};
const KINDS: readonly TlvKind[] = ['instance', 'resourceInstance', 'multipleResource', 'resource'];

/** One TLV entry: a value (resource, resource instance) or nested entries (instance, multiple). */
export interface TlvEntry {
  kind: TlvKind;
  id: number;
  /** Raw bytes of a resource or resource instance. */
  value?: Uint8Array;
  /** Children of an object instance or a multiple resource. */
  children?: TlvEntry[];
}

/** Nesting deeper than instance → multiple resource → resource instance is malformed. */
const MAX_DEPTH = 3;

/** Decodes a TLV payload; malformed input is `validation_failed`. */
export function decodeTlv(buf: Uint8Array, depth = 0): TlvEntry[] {
  if (depth >= MAX_DEPTH) throw bad('nested too deep');
  const out: TlvEntry[] = [];
  let i = 0;
  while (i < buf.length) {
    const type = buf[i++]!;
    const kind = KINDS[type >> 6]!;
    const idLen = type & 0b0010_0000 ? 2 : 1;
    const lenSize = (type >> 3) & 0b11;
    if (i + idLen + lenSize > buf.length) throw bad('truncated header');
    const id = idLen === 2 ? (buf[i]! << 8) | buf[i + 1]! : buf[i]!;
    i += idLen;
    let len = type & 0b111;
    if (lenSize > 0) {
      len = 0;
      for (let k = 0; k < lenSize; k++) len = (len << 8) | buf[i + k]!;
      i += lenSize;
    }
    if (i + len > buf.length) throw bad(`entry ${id} runs past the end`);
    const body = buf.subarray(i, i + len);
    i += len;
    if (kind === 'instance' || kind === 'multipleResource') {
      const children = decodeTlv(body, depth + 1);
      const want = kind === 'instance' ? ['resource', 'multipleResource'] : ['resourceInstance'];
      if (children.some((c) => !want.includes(c.kind))) throw bad(`bad child in ${kind} ${id}`);
      out.push({ kind, id, children });
    } else out.push({ kind, id, value: body });
  }
  return out;
}

/** Encodes TLV entries (the inverse of `decodeTlv`). */
export function encodeTlv(entries: readonly TlvEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const body = e.children ? encodeTlv(e.children) : (e.value ?? new Uint8Array(0));
    const idLen = e.id > 0xff ? 2 : 1;
    const len = body.length;
    const lenSize = len < 8 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : 3;
    if (len >= 0x1000000) throw bad('value longer than 16 MiB');
    let type = (KIND_BITS[e.kind] << 6) | (idLen === 2 ? 0b0010_0000 : 0) | (lenSize << 3);
    if (lenSize === 0) type |= len;
    const head = [type];
    if (idLen === 2) head.push(e.id >> 8, e.id & 0xff);
    else head.push(e.id);
    for (let k = lenSize - 1; k >= 0; k--) head.push((len >> (8 * k)) & 0xff);
    parts.push(Uint8Array.from(head), body);
  }
  return Buffer.concat(parts);
}

/** LwM2M data types (Core Appendix C) as far as the server interprets them. */
export type Lwm2mType = 'string' | 'integer' | 'unsigned' | 'float' | 'boolean' | 'time' | 'opaque';

/** A resource value as Bulwark holds it (opaque bytes as base64). */
export type Lwm2mValue = string | number | boolean;

/** Decodes one TLV value of a known type (Core Appendix C: big-endian, signed 1/2/4/8 bytes). */
export function tlvValue(b: Uint8Array, type: Lwm2mType): Lwm2mValue {
  const v = Buffer.from(b.buffer, b.byteOffset, b.length);
  switch (type) {
    case 'string':
      return v.toString('utf8');
    case 'boolean':
      if (v.length !== 1 || v[0]! > 1) throw bad('a boolean is one byte, 0 or 1');
      return v[0] === 1;
    case 'float':
      if (v.length === 4) return v.readFloatBE(0);
      if (v.length === 8) return v.readDoubleBE(0);
      throw bad('a float is 4 or 8 bytes');
    case 'integer':
    case 'time':
    case 'unsigned': {
      if (![1, 2, 4, 8].includes(v.length)) throw bad('an integer is 1, 2, 4 or 8 bytes');
      const n = type === 'unsigned' ? v.readBigUInt64BE(0) : 0n;
      if (type === 'unsigned' && v.length === 8) return Number(n);
      if (type === 'unsigned') return v.readUIntBE(0, v.length);
      return v.length === 8 ? Number(v.readBigInt64BE(0)) : v.readIntBE(0, v.length);
    }
    case 'opaque':
      return v.toString('base64');
  }
}

/** Encodes a value as TLV bytes: integers in the fewest of 1/2/4/8 bytes, other numbers as doubles. */
export function tlvBytes(value: Lwm2mValue, type?: Lwm2mType): Uint8Array {
  if (typeof value === 'boolean') return Uint8Array.of(value ? 1 : 0);
  if (typeof value === 'string') {
    return type === 'opaque' ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8');
  }
  if (type === 'float' || !Number.isInteger(value)) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value);
    return b;
  }
  for (const n of [1, 2, 4]) {
    const lim = 2 ** (8 * n - 1);
    if (value >= -lim && value < lim) {
      const b = Buffer.alloc(n);
      b.writeIntBE(value, 0, n);
      return b;
    }
  }
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(value));
  return b;
}

function bad(why: string): BulwarkError {
  return new BulwarkError('validation_failed', `LwM2M TLV: ${why}`);
}
