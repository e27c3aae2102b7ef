/** Low-level MQTT wire helpers: Variable Byte Integers (MQTT 5 §1.5.5) and UTF-8 string pairs. */

/** Bytes a Variable Byte Integer takes. */
export function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Write a Variable Byte Integer at `off`; returns the offset after it. */
export function writeVarint(buf: Buffer, off: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    buf[off++] = b;
  } while (n > 0);
  return off;
}

/**
 * Read a Variable Byte Integer at `off` (before `end`): `[value, next offset]`, `-1` when it is
 * incomplete, `-2` when it uses more than four bytes ([MQTT-1.5.5-1]: malformed).
 */
export function readVarint(buf: Buffer, off: number, end: number): [number, number] | -1 | -2 {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    if (off + i >= end) return -1;
    const b = buf[off + i]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, off + i + 1];
    mul *= 128;
  }
  return -2;
}

/** Append-only byte builder for the rarely used, property-heavy packets. */
export class ByteWriter {
  private parts: Buffer[] = [];
  length = 0;
  byte(b: number): this {
    return this.raw(Buffer.from([b]));
  }
  u16(n: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(n);
    return this.raw(b);
  }
  u32(n: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n);
    return this.raw(b);
  }
  varint(n: number): this {
    const b = Buffer.allocUnsafe(varintLength(n));
    writeVarint(b, 0, n);
    return this.raw(b);
  }
  str(s: string | Buffer): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return this.u16(b.length).raw(b);
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

/** Frame a packet: fixed header byte, Remaining Length, body. */
export function frame(header: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + varintLength(body.length) + body.length);
  out[0] = header;
  const off = writeVarint(out, 1, body.length);
  body.copy(out, off);
  return out;
}
