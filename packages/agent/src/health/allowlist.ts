/**
 * The connection allowlist: where the device may connect. One entry is an address or CIDR block
 * (IPv4 or IPv6, or `*` for any) with an optional port or port range:
 *
 *   10.0.0.0/8            192.0.2.10:8883         192.0.2.0/24:8000-8999
 *   2001:db8::/32         [2001:db8::/32]:443     [2001:db8::1]:443        *:53
 *
 * IPv6 with a port needs brackets. Host names are not accepted: the check runs against the
 * addresses in /proc/net/tcp, and resolving names on every check would make it slow and spoofable.
 */
import { BulwarkError } from '@bulwark/protocol';
import { isIPv4, isIPv6 } from 'node:net';
import { parseAddress } from './ip.js';

/** One parsed allowlist entry. `family` undefined means any address. */
export interface AllowRule {
  /** The entry as written. */
  text: string;
  family?: 4 | 6;
  /** Network bits (host bits zero) and prefix length. */
  network: bigint;
  prefix: number;
  portFrom: number;
  portTo: number;
}

function invalid(entry: string, why: string): BulwarkError {
  return new BulwarkError('validation_failed', `allowlist entry ${JSON.stringify(entry)}: ${why}`, {
    extra: { field: 'allowlist', entry },
  });
}

function parsePorts(entry: string, text: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (m?.[1] === undefined)
    throw invalid(entry, `port ${JSON.stringify(text)} is not a number or range like 8000-8999`);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  for (const p of [from, to]) {
    if (p < 1 || p > 65535) throw invalid(entry, `port ${p} is outside 1-65535`);
  }
  if (from > to) throw invalid(entry, `port range ${text} runs backwards`);
  return [from, to];
}

function parseNet(entry: string, text: string): Pick<AllowRule, 'family' | 'network' | 'prefix'> {
  if (text === '*') return { network: 0n, prefix: 0 };
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  if (!isIPv4(addrText) && !isIPv6(addrText)) {
    throw invalid(
      entry,
      `${JSON.stringify(addrText)} is not an IPv4 or IPv6 address (host names are not accepted)`,
    );
  }
  const addr = parseAddress(addrText);
  if (addr === undefined) throw invalid(entry, `${JSON.stringify(addrText)} is not an address`);
  const bits = addr.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) {
      throw invalid(entry, `prefix /${p} is not between /0 and /${bits}`);
    }
    prefix = Number(p);
  }
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  // A set host bit is most likely a typo for a single address or another block: refuse, don't guess.
  if ((addr.value & hostMask) !== 0n) {
    throw invalid(
      entry,
      `${addrText} has bits set beyond /${prefix} (did you mean a single address, or the block's first address?)`,
    );
  }
  return { family: addr.family, network: addr.value, prefix };
}

/** Parses one entry; throws a `validation_failed` BulwarkError saying what is wrong. */
export function parseAllowRule(entry: string): AllowRule {
  const text = entry.trim();
  if (text === '') throw invalid(entry, 'is empty');
  let netText: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw invalid(entry, 'has "[" without "]"');
    netText = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw invalid(entry, 'expected ":port" after "]"');
    if (rest !== '') portText = rest.slice(1);
    if (!isIPv6(netText.split('/')[0] ?? ''))
      throw invalid(entry, 'brackets are for IPv6 addresses');
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 1) {
      [netText = '', portText] = text.split(':');
    } else {
      // No colon: IPv4 or `*`, any port. Several: bare IPv6, any port (a port needs brackets).
      netText = text;
    }
  }
  const [portFrom, portTo] = portText === undefined ? [1, 65535] : parsePorts(entry, portText);
  return { text, ...parseNet(entry, netText), portFrom, portTo };
}

/** Parses every entry; the first bad one throws, so a bad list changes nothing. */
export function parseAllowlist(entries: readonly string[]): AllowRule[] {
  return entries.map(parseAllowRule);
}

/** Does any rule allow a connection to this address and port? */
export function isAllowed(rules: readonly AllowRule[], address: string, port: number): boolean {
  const addr = parseAddress(address);
  if (addr === undefined) return false;
  return rules.some((r) => {
    if (port < r.portFrom || port > r.portTo) return false;
    if (r.family === undefined) return true;
    if (r.family !== addr.family) return false;
    const shift = BigInt((addr.family === 4 ? 32 : 128) - r.prefix);
    return addr.value >> shift === r.network >> shift;
  });
}
