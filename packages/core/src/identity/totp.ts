import { createHmac, randomBytes } from 'node:crypto';

/** TOTP (RFC 6238) with HMAC-SHA1, 6 digits, 30-second steps: what authenticator apps expect. */
const STEP_SECONDS = 30;
const DIGITS = 6;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding. */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored). */
export function base32Decode(text: string): Buffer {
  const clean = text.toUpperCase().replace(/[\s=]/g, '');
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** HOTP (RFC 4226 §5.3) for a counter. */
export function hotp(secret: Uint8Array, counter: number, digits = DIGITS): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', secret).update(msg).digest();
  const offset = (h[h.length - 1] ?? 0) & 0x0f;
  const code = (h.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return code.toString().padStart(digits, '0');
}

/** The TOTP code for a time (ms). */
export function totp(secret: Uint8Array, atMs: number, digits = DIGITS): string {
  return hotp(secret, Math.floor(atMs / 1000 / STEP_SECONDS), digits);
}

/**
 * Checks a code against the current step and one step either side (clock drift, RFC 6238 §5.2).
 * Returns the matching step (so the caller can refuse a replay of the same step) or null.
 */
export function verifyTotp(secret: Uint8Array, code: string, atMs: number): number | null {
  const step = Math.floor(atMs / 1000 / STEP_SECONDS);
  for (const s of [step, step - 1, step + 1]) if (hotp(secret, s) === code) return s;
  return null;
}

/** A new 160-bit TOTP secret (RFC 4226 §4 recommends 160 bits). */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

/** The `otpauth://` URI that authenticator apps scan. */
export function otpauthUrl(secretBase32: string, account: string, issuer = 'Bulwark'): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  return `otpauth://totp/${label}?secret=${secretBase32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
}
