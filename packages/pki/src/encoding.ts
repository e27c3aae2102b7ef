import { createHash } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import { x509 } from './x509.js';

/** SHA-256 of bytes, lower-case hex. */
export function sha256Hex(data: ArrayBuffer | Uint8Array): string {
  return createHash('sha256')
    .update(data instanceof Uint8Array ? data : new Uint8Array(data))
    .digest('hex');
}

/** A serial number as we store it: lower-case hex, no leading zero octets (DER INTEGER content). */
export function normalizeSerial(hex: string): string {
  const h = hex
    .trim()
    .toLowerCase()
    .replace(/^(00)+/, '');
  if (!/^[0-9a-f]+$/.test(h) || h.length % 2 !== 0) {
    throw new BulwarkError('validation_failed', `"${hex}" is not a hex serial number`);
  }
  return h;
}

/**
 * A fresh certificate serial: 16 random octets (RFC 5280 §4.1.2.2 allows up to 20; CA/B Forum wants
 * at least 64 random bits) with the top bit cleared so the INTEGER is positive and no 0x00 pad octet
 * is needed, and a non-zero first octet so the hex we return is exactly what the DER encodes.
 */
export function randomSerial(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f || 0x01;
  return Buffer.from(b).toString('hex');
}

/** DER encoding of a non-negative INTEGER (for the CRL number, RFC 5280 §5.2.3). */
export function derInteger(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new BulwarkError('validation_failed', `${value} is not a non-negative integer`);
  }
  const octets: number[] = [];
  let v = value;
  do {
    octets.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  // A set top bit would read as negative: prefix 0x00 (X.690 §8.3).
  if ((octets[0] ?? 0) & 0x80) octets.unshift(0);
  return Uint8Array.from([0x02, octets.length, ...octets]);
}

/** A copy of `bytes` in its own ArrayBuffer (a Node Buffer may be a view into a shared pool). */
export function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** Milliseconds truncated to whole seconds: X.509 times (UTCTime/GeneralizedTime) carry no fraction. */
export function toSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/**
 * DER as PEM (RFC 7468) ending in a newline, so PEMs can be concatenated into a chain file.
 * x509's own `toString('pem')` has no final newline and labels CRLs `CRL`, which OpenSSL refuses;
 * RFC 7468 §5.1 and OpenSSL use `X509 CRL`.
 */
export function toPem(
  der: ArrayBuffer | Uint8Array,
  label: 'CERTIFICATE' | 'X509 CRL' | 'PRIVATE KEY',
): string {
  return `${x509.PemConverter.encode(der, label)}\n`;
}
