/** A bounds-checked reader for the TLS presentation language (RFC 5246 §4); throws DecodeError. */

/** A message that does not parse: answered with a decode_error alert (RFC 5246 §7.2.2). */
export class DecodeError extends Error {}

/** Reads big-endian integers and length-prefixed vectors from a buffer. */
export class Reader {
  #i = 0;
  constructor(private readonly b: Buffer) {}

  get remaining(): number {
    return this.b.length - this.#i;
  }

  u8(): number {
    return this.#take(1)[0]!;
  }

  u16(): number {
    return this.#take(2).readUInt16BE(0);
  }

  u24(): number {
    return this.#take(3).readUIntBE(0, 3);
  }

  bytes(n: number): Buffer {
    return this.#take(n);
  }

  /** A vector with a 1-, 2- or 3-byte length, checked against the bounds the spec gives. */
  vector(lengthBytes: 1 | 2 | 3, min = 0, max = Infinity): Buffer {
    const n = lengthBytes === 1 ? this.u8() : lengthBytes === 2 ? this.u16() : this.u24();
    if (n < min || n > max) throw new DecodeError(`vector length ${n} outside ${min}..${max}`);
    return this.#take(n);
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError('trailing bytes');
  }

  #take(n: number): Buffer {
    if (this.#i + n > this.b.length) throw new DecodeError('truncated');
    const out = this.b.subarray(this.#i, this.#i + n);
    this.#i += n;
    return out;
  }
}
