/** Base64url without padding (RFC 4648 §5), as SenML JSON carries data values (RFC 8428 §5). */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const INDEX = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));

/** Encodes bytes as unpadded base64url. */
export function toBase64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const rest = bytes.length - i;
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    if (rest > 1) out += ALPHABET[(n >> 6) & 63]!;
    if (rest > 2) out += ALPHABET[n & 63]!;
  }
  return out;
}

/**
 * Decodes canonical unpadded base64url; undefined for anything else (padding, other alphabets,
 * an impossible length, or non-zero trailing bits), so every accepted string has exactly one byte form.
 */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const c of text) {
    const d = INDEX.get(c);
    if (d === undefined) return undefined;
    acc = ((acc << 6) | d) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // The leftover bits of the last character must be zero (RFC 4648 §3.5, canonical encoding).
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
