/**
 * The CBOR (RFC 8949) SenML needs, on its own: core imports no libraries (STYLE.md), so this is a
 * small, strict decoder and encoder. Decodes unsigned and negative integers, byte and text
 * strings, arrays and maps (definite or indefinite length), false/true/null and half, single and
 * double floats; refuses tags, undefined and other simple values, indefinite strings, truncation,
 * trailing bytes, nesting deeper than 16 and integers beyond 2^53. Maps decode as `Map` (integer
 * keys stay integers). Tested against cbor-x (`hub/test/lwm2m-cbor-interop.test.ts`).
 */

/** Why a CBOR item could not be decoded. */
export class CborError extends Error {
  override readonly name = 'CborError';
}

/** A decoded CBOR value. */
export type CborValue =
  number | string | boolean | null | Uint8Array | CborValue[] | Map<CborValue, CborValue>;

const MAX_DEPTH = 16;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BREAK = Symbol('break');

/** Decodes exactly one CBOR item filling `buf`. */
export function decodeCbor(buf: Uint8Array): CborValue {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > b.length) throw new CborError('truncated');
  };
  const arg = (info: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new CborError(`reserved additional information ${info}`);
    need(size);
    let v: number;
    if (size === 8) {
      const big = b.readBigUInt64BE(pos);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new CborError('integer beyond 2^53');
      v = Number(big);
    } else v = b.readUIntBE(pos, size);
    pos += size;
    return v;
  };
  const item = (depth: number): CborValue | typeof BREAK => {
    if (depth > MAX_DEPTH) throw new CborError('nested too deeply');
    need(1);
    const head = b[pos++]!;
    const major = head >> 5;
    const info = head & 0x1f;
    if (head === 0xff) return BREAK;
    switch (major) {
      case 0:
        return arg(info);
      case 1:
        return -1 - arg(info);
      case 2:
      case 3: {
        if (info === 31) throw new CborError('indefinite-length strings are not accepted');
        const n = arg(info);
        need(n);
        const s = b.subarray(pos, pos + n);
        pos += n;
        if (major === 2) return Uint8Array.from(s);
        try {
          return UTF8.decode(s);
        } catch {
          throw new CborError('a text string is not valid UTF-8');
        }
      }
      case 4:
      case 5: {
        const indefinite = info === 31;
        const n = indefinite ? Infinity : arg(info);
        // Each entry takes at least one byte: a count beyond what is left is a lie.
        if (!indefinite && n * (major === 5 ? 2 : 1) > b.length - pos)
          throw new CborError('truncated');
        const arr: CborValue[] = [];
        const map = new Map<CborValue, CborValue>();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          if (k === BREAK) {
            if (!indefinite) throw new CborError('unexpected break');
            break;
          }
          if (major === 4) {
            arr.push(k);
            continue;
          }
          const v = item(depth + 1);
          if (v === BREAK) throw new CborError('a map key without a value');
          if (map.has(k)) throw new CborError('a duplicate map key');
          map.set(k, v);
        }
        return major === 4 ? arr : map;
      }
      case 6:
        throw new CborError(`tag ${arg(info)} is not accepted`);
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        const size = info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
        if (size === 0) throw new CborError(`simple value ${info} is not accepted`);
        need(size);
        const v =
          size === 2
            ? half(b.readUInt16BE(pos))
            : size === 4
              ? b.readFloatBE(pos)
              : b.readDoubleBE(pos);
        pos += size;
        return v;
      }
    }
  };
  const v = item(0);
  if (v === BREAK) throw new CborError('unexpected break');
  if (pos !== b.length) throw new CborError('trailing bytes after the item');
  return v;
}

function half(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const v =
    exp === 0
      ? mant * 2 ** -24
      : exp === 31
        ? mant
          ? NaN
          : Infinity
        : (mant + 1024) * 2 ** (exp - 25);
  return h & 0x8000 ? -v : v;
}

/**
 * Encodes integers in their shortest form, other numbers as doubles, strings as text, byte arrays
 * as byte strings, booleans, null, arrays and `Map`s (definite lengths, keys in insertion order).
 */
export function encodeCbor(v: CborValue): Uint8Array {
  const out: Buffer[] = [];
  const head = (major: number, n: number) => {
    const m = major << 5;
    if (n < 24) out.push(Buffer.from([m | n]));
    else if (n < 0x100) out.push(Buffer.from([m | 24, n]));
    else if (n < 0x10000) out.push(Buffer.from([m | 25, n >> 8, n & 0xff]));
    else if (n < 0x100000000) {
      const x = Buffer.alloc(5);
      x[0] = m | 26;
      x.writeUInt32BE(n, 1);
      out.push(x);
    } else {
      const x = Buffer.alloc(9);
      x[0] = m | 27;
      x.writeBigUInt64BE(BigInt(n), 1);
      out.push(x);
    }
  };
  const put = (x: CborValue) => {
    if (typeof x === 'number') {
      if (Number.isSafeInteger(x)) return x >= 0 ? head(0, x) : head(1, -1 - x);
      const d = Buffer.alloc(9);
      d[0] = 0xfb;
      d.writeDoubleBE(x, 1);
      return out.push(d);
    }
    if (typeof x === 'string') {
      const s = Buffer.from(x, 'utf8');
      head(3, s.length);
      return out.push(s);
    }
    if (typeof x === 'boolean') return out.push(Buffer.from([x ? 0xf5 : 0xf4]));
    if (x === null) return out.push(Buffer.from([0xf6]));
    if (x instanceof Uint8Array) {
      head(2, x.length);
      return out.push(Buffer.from(x));
    }
    if (Array.isArray(x)) {
      head(4, x.length);
      return x.forEach(put);
    }
    head(5, x.size);
    for (const [k, val] of x) {
      put(k);
      put(val);
    }
  };
  put(v);
  return Buffer.concat(out);
}
