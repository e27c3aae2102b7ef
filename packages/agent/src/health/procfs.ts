/**
 * Parsers for the Linux /proc files the agent's health snapshot is built from. Pure functions over
 * the file text, so tests feed them fixtures; `LinuxSystem` reads the files. Formats: proc(5).
 */
import { endianness } from 'node:os';
import type { SocketInfo } from '../ports.js';
import { formatIPv6 } from './ip.js';

/** Cumulative CPU time from the `cpu` line of /proc/stat, in clock ticks. */
export interface CpuSample {
  /** All time: user nice system idle iowait irq softirq steal. */
  total: number;
  /** Time doing nothing: idle + iowait. */
  idle: number;
}

/** proc(5) /proc/stat: the first line, `cpu  user nice system idle iowait irq softirq steal guest guest_nice`. */
export function parseProcStat(text: string): CpuSample {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('/proc/stat has no aggregate "cpu" line');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) {
    throw new Error(`/proc/stat "cpu" line is malformed: ${line}`);
  }
  // guest and guest_nice (fields 9, 10) are already counted in user and nice: leave them out.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, idle: (f[3] ?? 0) + (f[4] ?? 0) };
}

/** Busy share of the CPU between two samples, 0–100; 0 when no time passed. */
export function cpuPercent(before: CpuSample, after: CpuSample): number {
  const total = after.total - before.total;
  const idle = after.idle - before.idle;
  if (total <= 0) return 0;
  const pct = ((total - idle) / total) * 100;
  return Math.round(Math.min(100, Math.max(0, pct)) * 10) / 10;
}

/** proc(5) /proc/meminfo: MemTotal and MemAvailable in bytes (values are in kB). */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) kb.set(m[1], Number(m[2]));
  }
  const total = kb.get('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal');
  // MemAvailable exists since Linux 3.14; before that, estimate it as free + buffers + page cache.
  const available =
    kb.get('MemAvailable') ??
    (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  return { totalBytes: total * 1024, availableBytes: available * 1024 };
}

/** proc(5) /proc/uptime: seconds since boot (the first of two numbers). */
export function parseUptime(text: string): number {
  const s = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(s)) throw new Error(`/proc/uptime is malformed: ${text.trim()}`);
  return Math.floor(s);
}

/** proc(5) /proc/net/dev: received and sent bytes summed over every interface but `lo`. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  // Two header lines, then `iface: rx_bytes rx_packets … (8 receive fields) tx_bytes …`.
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    rxBytes += f[0] ?? 0;
    txBytes += f[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

/** TCP states of include/net/tcp_states.h that the agent reports. */
const TCP_STATES: Readonly<Record<string, SocketInfo['state']>> = {
  '01': 'established',
  '0A': 'listen',
};

/**
 * Decodes a /proc/net/tcp{,6} address `HEX:PORT`. The address is printed as 32-bit words in host
 * byte order (one word for IPv4, four for IPv6), the port as big-endian hex.
 */
export function decodeProcAddress(
  field: string,
  littleEndian = endianness() === 'LE',
): { address: string; port: number } {
  const [hex = '', portHex = ''] = field.split(':');
  if (!/^[0-9A-Fa-f]+$/.test(portHex) || (hex.length !== 8 && hex.length !== 32)) {
    throw new Error(`malformed /proc/net/tcp address ${JSON.stringify(field)}`);
  }
  const bytes = Buffer.alloc(hex.length / 2);
  for (let i = 0; i < hex.length / 8; i++) {
    const word = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
    if (Number.isNaN(word))
      throw new Error(`malformed /proc/net/tcp address ${JSON.stringify(field)}`);
    if (littleEndian) bytes.writeUInt32LE(word, i * 4);
    else bytes.writeUInt32BE(word, i * 4);
  }
  // An IPv4 peer of a dual-stack socket shows as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): report it as IPv4.
  const mapped =
    bytes.length === 16 &&
    bytes.subarray(0, 10).every((b) => b === 0) &&
    bytes[10] === 0xff &&
    bytes[11] === 0xff;
  const address =
    bytes.length === 4
      ? bytes.join('.')
      : mapped
        ? bytes.subarray(12).join('.')
        : formatIPv6(bytes);
  return { address, port: parseInt(portHex, 16) };
}

/** proc(5) /proc/net/tcp and tcp6: the listening and established sockets (other states skipped). */
export function parseProcNetTcp(text: string, littleEndian?: boolean): SocketInfo[] {
  const out: SocketInfo[] = [];
  for (const line of text.split('\n').slice(1)) {
    // `sl local_address rem_address st …`
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const state = TCP_STATES[(f[3] ?? '').toUpperCase()];
    if (state === undefined) continue;
    const local = decodeProcAddress(f[1] ?? '', littleEndian);
    const remote = decodeProcAddress(f[2] ?? '', littleEndian);
    out.push({
      state,
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
    });
  }
  return out;
}
