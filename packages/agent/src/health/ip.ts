/**
 * Small IP address helpers shared by the /proc parser and the connection allowlist: addresses as
 * bigints (so a CIDR match is one mask and compare) and RFC 5952 text for IPv6.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** An address as a number with its family: 32 bits for IPv4, 128 for IPv6. */
export interface NumericAddress {
  family: 4 | 6;
  value: bigint;
}

/** `::ffff:a.b.c.d` (an IPv4 connection on a dual-stack socket) as plain `a.b.c.d`; others unchanged. */
export function unmapIPv4(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m?.[1] ?? address;
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 counts as IPv4); undefined if it is neither. */
export function parseAddress(text: string): NumericAddress | undefined {
  const address = unmapIPv4(text);
  if (isIPv4(address)) {
    let value = 0n;
    for (const part of address.split('.')) value = (value << 8n) | BigInt(Number(part));
    return { family: 4, value };
  }
  if (!isIPv6(address)) return undefined;
  // An embedded dotted quad (`::1.2.3.4`) becomes two hex groups first.
  let text6 = address;
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text6);
  if (dotted?.[1] !== undefined) {
    const b = dotted[1].split('.').map(Number);
    const hi = (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16);
    const lo = (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16);
    text6 = `${text6.slice(0, dotted.index)}${hi}:${lo}`;
  }
  const [head = '', tail] = text6.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  return { family: 6, value };
}

/** Formats 16 bytes as an IPv6 address in RFC 5952 form (lowercase, longest zero run as `::`). */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 §4.2.2–4.2.3: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Is this a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback)? */
export function isLoopback(address: string): boolean {
  const a = parseAddress(address);
  if (a === undefined) return false;
  return a.family === 4 ? a.value >> 24n === 127n : a.value === 1n;
}
