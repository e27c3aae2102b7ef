/** The Block1/Block2 option value (RFC 7959 §2.2): NUM, M and SZX packed in 0–3 bytes. */

/** A decoded block option. */
export interface BlockOption {
  num: number;
  more: boolean;
  /** Block size exponent: size = 2^(szx+4). 7 is reserved (RFC 7959 §2.2; BERT only over TCP). */
  szx: number;
}

/** Largest SZX we use: 1024-byte blocks keep a message inside the 1152-byte limit (RFC 7252 §4.6). */
export const MAX_SZX = 6;

/** Decodes a block option; undefined when it is longer than 3 bytes or uses the reserved SZX 7. */
export function decodeBlock(v: Buffer): BlockOption | undefined {
  if (v.length > 3) return undefined; // RFC 7959 §2.2: 0–3 bytes
  let n = 0;
  for (const b of v) n = n * 256 + b;
  const szx = n & 7;
  if (szx === 7) return undefined;
  return { num: n >>> 4, more: (n & 8) !== 0, szx };
}

/** Encodes a block option in the fewest bytes. */
export function encodeBlock(b: BlockOption): Buffer {
  const n = (b.num << 4) | (b.more ? 8 : 0) | b.szx;
  if (n === 0) return Buffer.alloc(0);
  if (n < 0x100) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([n >> 8, n & 0xff]);
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** Block size in bytes for an SZX. */
export function blockSize(szx: number): number {
  return 1 << (szx + 4);
}
