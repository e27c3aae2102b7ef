/**
 * What the hub really listens on, from the kernel's socket tables (/proc/net/tcp, tcp6, udp,
 * udp6): the ports runtime.json names, matched to their bound addresses. Readable by any user,
 * so doctor needs no access to the hub's process.
 */
import { readFileSync } from 'node:fs';
import { check, type Check } from './report.js';

/** One listening socket: protocol, bound address (as text) and port. */
export interface Listener {
  proto: 'tcp' | 'udp';
  address: string;
  port: number;
}

const TCP_LISTEN = '0A';

/** Decodes /proc/net's hex address (little-endian words) into text. */
export function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  // Each 32-bit word is in host (little-endian) order.
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes.readUInt16BE(i).toString(16));
  // IPv4-mapped (::ffff:a.b.c.d) as IPv4, the unspecified address as ::.
  if (words.slice(0, 5).every((w) => w === '0') && words[5] === 'ffff')
    return [...bytes.subarray(12)].join('.');
  return words.every((w) => w === '0') ? '::' : words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Parses one /proc/net table; `listenOnly` keeps TCP sockets in LISTEN. */
export function parseProcNet(text: string, proto: 'tcp' | 'udp'): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const [local, , state] = [f[1], f[2], f[3]];
    if (local === undefined || state === undefined) continue;
    if (proto === 'tcp' && state !== TCP_LISTEN) continue;
    const [addr, port] = local.split(':');
    if (addr === undefined || port === undefined) continue;
    out.push({ proto, address: decodeAddress(addr), port: parseInt(port, 16) });
  }
  return out;
}

/** Every listening TCP and bound UDP socket on this host (what /proc shows this process). */
export function hostListeners(read = (p: string) => readFileSync(p, 'utf8')): Listener[] {
  const out: Listener[] = [];
  for (const [file, proto] of [
    ['tcp', 'tcp'],
    ['tcp6', 'tcp'],
    ['udp', 'udp'],
    ['udp6', 'udp'],
  ] as const) {
    try {
      out.push(...parseProcNet(read(`/proc/net/${file}`), proto));
    } catch {
      /* no IPv6, or no /proc: that table contributes nothing */
    }
  }
  return out;
}

const isLoopback = (a: string) => a.startsWith('127.') || a === '::1';
const isWildcard = (a: string) => a === '0.0.0.0' || a === '::';
const show = (l: Listener) =>
  l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;

/** The ports of a running hub (runtime.json) that doctor looks at. */
export interface HubPorts {
  httpPort: number;
  mqttPort: number;
  mqttOpenPort: number | null;
  coapPort: number | null;
}

/**
 * The listener checks: where each of the hub's ports is bound. HTTPS and MQTT over TLS on every
 * interface is what serving devices means (pass, said); the open-mode MQTT listener (anonymous,
 * no access control) and CoAP (no DTLS: device keys in clear) anywhere but loopback fail, and
 * warn on loopback, where any local user can reach them.
 */
export function listenerChecks(ports: HubPorts, all: readonly Listener[]): Check[] {
  const find = (proto: 'tcp' | 'udp', port: number) =>
    all.filter((l) => l.proto === proto && l.port === port);
  const checks: Check[] = [];
  for (const [id, port, what] of [
    ['listen.https', ports.httpPort, 'HTTPS API'],
    ['listen.mqtt', ports.mqttPort, 'MQTT over TLS'],
  ] as const) {
    const ls = find('tcp', port);
    if (ls.length === 0) {
      checks.push(
        check(id, 'fail', `${what}: nothing listens on port ${port} (runtime.json says it should)`),
      );
      continue;
    }
    const wide = ls.some((l) => isWildcard(l.address));
    checks.push(
      check(
        id,
        'pass',
        `${what} on ${ls.map(show).join(', ')}${wide ? ' (every interface: reachable from the network, TLS required)' : ''}`,
      ),
    );
  }
  const exposed = (id: string, ls: Listener[], what: string, why: string) => {
    if (ls.length === 0)
      return check(id, 'warn', `${what}: runtime.json names a port but nothing is bound there`);
    const outside = ls.filter((l) => !isLoopback(l.address));
    if (outside.length > 0)
      return check(
        id,
        'fail',
        `${what} on ${outside.map(show).join(', ')}: ${why}; bind it to 127.0.0.1 or turn it off`,
      );
    return check(
      id,
      'warn',
      `${what} on ${ls.map(show).join(', ')} (loopback only): ${why} — for tests and benchmarks`,
    );
  };
  if (ports.mqttOpenPort === null)
    checks.push(check('listen.mqtt-open', 'pass', 'no open-mode MQTT listener'));
  else
    checks.push(
      exposed(
        'listen.mqtt-open',
        find('tcp', ports.mqttOpenPort),
        'OPEN-MODE MQTT',
        'anonymous clients, no access control',
      ),
    );
  if (ports.coapPort === null) checks.push(check('listen.coap', 'pass', 'no CoAP listener'));
  else
    checks.push(
      exposed(
        'listen.coap',
        find('udp', ports.coapPort),
        'CoAP (UDP)',
        'no DTLS, device keys travel in clear',
      ),
    );
  return checks;
}
