/**
 * A replayer for the packet-sequence corpus in shared/mqtt-conformance (Mosquitto's test data,
 * not copied here). Each test gets a fresh TCP connection; see the corpus README for the rules.
 *
 * Deliberate semantic comparison: a v5 CONNACK is compared on its flags and reason code and on
 * the presence of an Assigned Client Identifier, not byte for byte, because its other properties
 * carry each server's own limits (Mosquitto: Topic Alias Maximum 10, Maximum Packet Size…).
 */
import net from 'node:net';
import { encodeNotation } from './notation.js';

interface Msg {
  type: 'send' | 'recv' | 'external_publish' | 'subscribe' | 'unsubscribe';
  payload?: string;
  topic?: string;
  qos?: number;
  retain?: boolean;
}
interface Test {
  name: string;
  ver?: number;
  connect?: boolean;
  expect_disconnect?: boolean;
  msgs: Msg[];
}
interface Group {
  group: string;
  ver?: number;
  connect?: boolean;
  expect_disconnect?: boolean;
  disable?: boolean;
  tests: Test[];
}

/** One test's outcome. */
export interface CaseResult {
  name: string;
  ok: boolean;
  why?: string;
}

/** A socket with exact-length reads bounded by a timeout. */
class Wire {
  private buf = Buffer.alloc(0);
  private ended = false;
  private waiter: (() => void) | null = null;
  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    const end = (): void => {
      this.ended = true;
      this.waiter?.();
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', end);
  }
  static open(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Wire(s)));
      s.setNoDelay(true);
      s.once('error', reject);
    });
  }
  send(b: Buffer): void {
    if (!this.sock.destroyed) this.sock.write(b);
  }
  /** Read exactly n bytes; null when the connection closed first; throws on timeout. */
  async read(n: number, ms: number): Promise<Buffer | null> {
    const deadline = Date.now() + ms;
    while (this.buf.length < n) {
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${n} bytes (have ${this.buf.length})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** Read one whole packet. */
  async packet(ms: number): Promise<Buffer | null> {
    const h = await this.read(1, ms);
    if (h === null) return null;
    const lenBytes: number[] = [];
    let len = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = await this.read(1, ms);
      if (b === null) return null;
      lenBytes.push(b[0]!);
      len += (b[0]! & 0x7f) * mul;
      mul *= 128;
      if ((b[0]! & 0x80) === 0) break;
    }
    const body = len > 0 ? await this.read(len, ms) : Buffer.alloc(0);
    if (body === null) return null;
    return Buffer.concat([h, Buffer.from(lenBytes), body]);
  }
  /** Wait for the peer to close; returns the bytes received meanwhile, or throws on timeout. */
  async closed(ms: number): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('connection not closed');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = null;
    }
    return this.buf;
  }
  destroy(): void {
    this.sock.destroy();
  }
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const h = Buffer.alloc(2);
  h.writeUInt16BE(b.length);
  return Buffer.concat([h, b]);
}
function frame(header: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([header, ...len]), body]);
}

/** The default CONNECT of the corpus: clean, keep-alive 60, id = full name, v5 Receive Maximum 20. */
function defaultConnect(ver: number, clientId: string): Buffer {
  const proto = ver === 3 ? str('MQIsdp') : str('MQTT');
  const props = ver === 5 ? Buffer.from([3, 0x21, 0, 20]) : Buffer.alloc(0);
  return frame(0x10, Buffer.concat([proto, Buffer.from([ver, 0x02, 0, 60]), props, str(clientId)]));
}

const TIMEOUT = 2000;

/** Semantic comparison for v5 CONNACK; byte comparison otherwise. */
function same(expected: Buffer, got: Buffer, ver: number): boolean {
  if (expected.equals(got)) return true;
  if (ver === 5 && expected[0] === 0x20 && got[0] === 0x20) {
    const e = connackView(expected);
    const g = connackView(got);
    return (
      e !== null && g !== null && e.flags === g.flags && e.rc === g.rc && e.assigned === g.assigned
    );
  }
  return false;
}
function connackView(b: Buffer): { flags: number; rc: number; assigned: boolean } | null {
  let p = 1;
  while (p < b.length && (b[p]! & 0x80) !== 0) p++;
  p++;
  if (p + 2 > b.length) return null;
  return { flags: b[p]!, rc: b[p + 1]!, assigned: b.includes(0x12, p + 2) };
}

async function externalPublish(port: number, m: Msg, tag: string): Promise<void> {
  const w = await Wire.open(port);
  try {
    w.send(defaultConnect(4, `ext-${tag}-${Math.random().toString(36).slice(2)}`));
    await w.packet(TIMEOUT);
    const qos = m.qos ?? 0;
    const body = Buffer.concat([
      str(m.topic ?? ''),
      qos > 0 ? Buffer.from([0, 1]) : Buffer.alloc(0),
      Buffer.from(m.payload ?? '', 'utf8'),
    ]);
    w.send(frame(0x30 | (qos << 1) | (m.retain === true ? 1 : 0), body));
    if (qos === 1) await w.packet(TIMEOUT);
    if (qos === 2) {
      await w.packet(TIMEOUT);
      w.send(Buffer.from([0x62, 2, 0, 1]));
      await w.packet(TIMEOUT);
    }
    w.send(Buffer.from([0xe0, 0]));
    await w.closed(TIMEOUT).catch(() => undefined);
  } finally {
    w.destroy();
  }
}

async function runCase(port: number, g: Group, t: Test): Promise<CaseResult> {
  const ver = t.ver ?? g.ver ?? 4;
  const connect = t.connect ?? g.connect ?? true;
  const expectDisconnect = t.expect_disconnect ?? g.expect_disconnect ?? true;
  const name = `${g.group} ${t.name}`;
  const w = await Wire.open(port);
  try {
    if (connect) {
      w.send(defaultConnect(ver, name));
      const ack = await w.packet(TIMEOUT);
      if (ack === null || ack[0] !== 0x20 || ack[3] !== 0) {
        return { name, ok: false, why: `connect failed: ${ack?.toString('hex')}` };
      }
    }
    for (const m of t.msgs) {
      switch (m.type) {
        case 'send':
          w.send(encodeNotation(m.payload ?? ''));
          break;
        case 'recv': {
          const exp = encodeNotation(m.payload ?? '');
          const got =
            exp[0] === 0x20 && ver === 5
              ? await w.packet(TIMEOUT)
              : await w.read(exp.length, TIMEOUT);
          if (got === null)
            return { name, ok: false, why: `closed, expected ${exp.toString('hex')}` };
          if (!same(exp, got, ver)) {
            return {
              name,
              ok: false,
              why: `expected ${exp.toString('hex')} got ${got.toString('hex')}`,
            };
          }
          break;
        }
        case 'external_publish':
          await externalPublish(port, m, t.name);
          break;
        case 'subscribe':
        case 'unsubscribe': {
          const props = ver === 5 ? Buffer.from([0]) : Buffer.alloc(0);
          const isSub = m.type === 'subscribe';
          const body = Buffer.concat([
            Buffer.from([0, 1]),
            props,
            str(m.topic ?? ''),
            isSub ? Buffer.from([m.qos ?? 0]) : Buffer.alloc(0),
          ]);
          w.send(frame(isSub ? 0x82 : 0xa2, body));
          const ack = await w.packet(TIMEOUT);
          if (ack === null || ack[0] !== (isSub ? 0x90 : 0xb0)) {
            return { name, ok: false, why: `${m.type} not acknowledged: ${ack?.toString('hex')}` };
          }
          break;
        }
      }
    }
    if (expectDisconnect) {
      const rest = await w.closed(TIMEOUT);
      // A v5 DISCONNECT or a refusing CONNACK before the close is the server explaining itself
      // (the corpus only asks that the connection be closed); anything else is extra.
      const explained = rest[0] === 0xe0 || (rest[0] === 0x20 && (rest[3] ?? 0) >= 0x80);
      if (rest.length > 0 && !explained) {
        return { name, ok: false, why: `unexpected bytes before close: ${rest.toString('hex')}` };
      }
    } else {
      w.send(Buffer.from([0xc0, 0]));
      const pong = await w.read(2, TIMEOUT);
      if (pong === null || pong[0] !== 0xd0) {
        return { name, ok: false, why: `no PINGRESP: ${pong?.toString('hex') ?? 'closed'}` };
      }
    }
    return { name, ok: true };
  } catch (e) {
    return { name, ok: false, why: (e as Error).message };
  } finally {
    w.destroy();
  }
}

/** Replay one corpus file against a broker on 127.0.0.1:port. */
export async function replayFile(port: number, groups: Group[]): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const g of groups) {
    if (g.disable === true) continue;
    for (const t of g.tests) out.push(await runCase(port, g, t));
  }
  return out;
}
