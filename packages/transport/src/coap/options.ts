/** Reading and writing the CoAP options we use, on node-coap's parsed packet (name/value pairs). */
import type { CoapPacket } from 'coap';

/** An option as node-coap carries it: a registered name or the option number as a string. */
export interface RawOption {
  name: string | number;
  value: Buffer;
}

/** Option numbers of RFC 7252 §5.10 / RFC 7641 / RFC 7959 / RFC 9175, by node-coap's names. */
const NUMBERS: Readonly<Record<string, number>> = {
  'If-Match': 1,
  'Uri-Host': 3,
  ETag: 4,
  'If-None-Match': 5,
  Observe: 6,
  'Uri-Port': 7,
  'Location-Path': 8,
  'Uri-Path': 11,
  'Content-Format': 12,
  'Max-Age': 14,
  'Uri-Query': 15,
  'Hop-Limit': 16,
  Accept: 17,
  'Q-Block1': 19,
  'Location-Query': 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  'Q-Block2': 31,
  'Proxy-Uri': 35,
  'Proxy-Scheme': 39,
  Size1: 60,
  'No-Response': 258,
};

/** Critical options whose meaning we implement (or may safely ignore: Uri-Host/Uri-Port name us). */
const UNDERSTOOD_CRITICAL = new Set([3, 7, 11, 15, 17, 23, 27]);

/** The option number of a node-coap option. */
export function optionNumber(o: RawOption): number {
  if (typeof o.name === 'number') return o.name;
  return NUMBERS[o.name] ?? Number.parseInt(o.name, 10);
}

/** The options of a packet, never undefined. */
export function optionsOf(p: CoapPacket): RawOption[] {
  return p.options ?? [];
}

/**
 * A copy of a packet's options as received. node-coap converts option values in place (strings,
 * numbers) when it builds its request object, so handlers read this snapshot instead.
 */
export function snapshotOptions(p: CoapPacket): RawOption[] {
  return optionsOf(p).map((o) => ({ name: optionNumber(o), value: Buffer.from(o.value) }));
}

/** Every value of an option, in order. */
export function allValues(opts: readonly RawOption[], num: number): Buffer[] {
  return opts.filter((o) => optionNumber(o) === num).map((o) => o.value);
}

/** The first value of an option, or undefined. */
export function firstValue(opts: readonly RawOption[], num: number): Buffer | undefined {
  return opts.find((o) => optionNumber(o) === num)?.value;
}

/** Removes an option from a packet (so node-coap does not act on it). */
export function removeOption(p: CoapPacket, num: number): void {
  p.options = optionsOf(p).filter((o) => optionNumber(o) !== num);
}

/** A uint option value (RFC 7252 §3.2: big-endian, leading zeros allowed), or undefined if > 4 bytes. */
export function decodeUint(v: Buffer): number | undefined {
  if (v.length > 4) return undefined;
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** The shortest uint encoding of n (RFC 7252 §3.2: zero is the empty string). */
export function encodeUint(n: number): Buffer {
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  return Buffer.from(bytes);
}

/**
 * The first critical option we do not implement, if any: RFC 7252 §5.4.1 says a request carrying one
 * is answered 4.02 Bad Option. Odd option numbers are critical (RFC 7252 §5.4.6).
 */
export function unsupportedCritical(opts: readonly RawOption[]): number | undefined {
  for (const o of opts) {
    const n = optionNumber(o);
    if (n % 2 === 1 && !UNDERSTOOD_CRITICAL.has(n)) return n;
  }
  return undefined;
}

/** Option numbers used by this adapter. */
export const OPT = {
  ETag: 4,
  Observe: 6,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  RequestTag: 292,
} as const;
