/**
 * A test-only CoAP codec and raw UDP client, written from RFC 7252 §3 independently of the code
 * under test, so tests see exactly what went over the wire.
 */
import { createSocket, type Socket } from 'node:dgram';

export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

/** A CoAP message as the tests build and read it. */
export interface Msg {
  type: number;
  /** "c.dd", e.g. "0.02" for POST, "2.04" for Changed. */
  code: string;
  mid: number;
  token: Buffer;
  options: [number, Buffer][];
  payload: Buffer;
}

/** An option value from a string, a uint or bytes. */
export function opt(num: number, v: string | number | Buffer): [number, Buffer] {
  if (Buffer.isBuffer(v)) return [num, v];
  if (typeof v === 'string') return [num, Buffer.from(v)];
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  return [num, Buffer.from(bytes)];
}

/** A uint option's value. */
export function uint(b: Buffer | undefined): number | undefined {
  if (b === undefined) return undefined;
  let n = 0;
  for (const x of b) n = n * 256 + x;
  return n;
}

/** The first value of an option. */
export function option(m: Msg, num: number): Buffer | undefined {
  return m.options.find(([n]) => n === num)?.[1];
}

/** Encodes a message (RFC 7252 §3). */
export function encode(m: Msg): Buffer {
  const [c, d] = m.code.split('.').map(Number) as [number, number];
  const parts: Buffer[] = [
    Buffer.from([0x40 | (m.type << 4) | m.token.length, (c << 5) | d, m.mid >> 8, m.mid & 0xff]),
    m.token,
  ];
  let last = 0;
  for (const [num, value] of [...m.options].sort((a, b) => a[0] - b[0])) {
    const ext = (x: number): [number, Buffer] =>
      x < 13 ? [x, Buffer.alloc(0)] : x < 269 ? [13, Buffer.from([x - 13])] : [14, u16(x - 269)];
    const [dn, db] = ext(num - last);
    const [ln, lb] = ext(value.length);
    parts.push(Buffer.from([(dn << 4) | ln]), db, lb, value);
    last = num;
  }
  if (m.payload.length > 0) parts.push(Buffer.from([0xff]), m.payload);
  return Buffer.concat(parts);
}

function u16(x: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(x);
  return b;
}

/** Decodes a message; throws on a format error. */
export function decode(b: Buffer): Msg {
  const tkl = b[0]! & 15;
  const code = `${b[1]! >> 5}.${String(b[1]! & 31).padStart(2, '0')}`;
  const m: Msg = {
    type: (b[0]! >> 4) & 3,
    code,
    mid: b.readUInt16BE(2),
    token: b.subarray(4, 4 + tkl),
    options: [],
    payload: Buffer.alloc(0),
  };
  let i = 4 + tkl;
  let num = 0;
  while (i < b.length) {
    if (b[i] === 0xff) {
      m.payload = b.subarray(i + 1);
      break;
    }
    const h = b[i++]!;
    const ext = (x: number): number => {
      if (x === 13) return b[i++]! + 13;
      if (x === 14) {
        const v = b.readUInt16BE(i) + 269;
        i += 2;
        return v;
      }
      return x;
    };
    num += ext(h >> 4);
    const len = ext(h & 15);
    m.options.push([num, b.subarray(i, i + len)]);
    i += len;
  }
  return m;
}

/** A raw CoAP endpoint on loopback that records everything it receives. */
export class RawClient {
  readonly received: Msg[] = [];
  #sock: Socket;
  #mid = Math.floor(Math.random() * 60000);
  #tok = 0;
  #waiters: (() => void)[] = [];
  /** Acknowledge CON responses automatically (as a client must, RFC 7252 §4.2). */
  autoAck = true;

  private constructor(
    sock: Socket,
    readonly port: number,
  ) {
    this.#sock = sock;
    sock.on('message', (b) => {
      let m: Msg;
      try {
        m = decode(b);
      } catch {
        return;
      }
      this.received.push(m);
      if (this.autoAck && m.type === CON) this.raw(encode({ ...empty(ACK, m.mid) }));
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** A client bound to 127.0.0.1 talking to the server's port. */
  static async open(port: number): Promise<RawClient> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    return new RawClient(sock, port);
  }

  nextMid(): number {
    this.#mid = (this.#mid + 1) & 0xffff;
    return this.#mid;
  }

  nextToken(): Buffer {
    this.#tok += 1;
    const t = Buffer.alloc(4);
    t.writeUInt32BE(this.#tok);
    return t;
  }

  /** Sends raw bytes to the server. */
  raw(b: Buffer): void {
    this.#sock.send(b, this.port, '127.0.0.1');
  }

  /** Sends a message. */
  send(m: Msg): void {
    this.raw(encode(m));
  }

  /** Waits for a received message matching `pred` (checking ones already received, from `from`). */
  async wait(pred: (m: Msg) => boolean, timeoutMs = 3000, from = 0): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.slice(from).find(pred);
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a CoAP message');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a request and returns its response (piggybacked or separate; not the empty ACK). */
  async request(
    code: string,
    options: [number, Buffer][],
    payload: Buffer | string = Buffer.alloc(0),
    type = CON,
    token = this.nextToken(),
  ): Promise<Msg> {
    const from = this.received.length;
    this.send({ type, code, mid: this.nextMid(), token, options, payload: Buffer.from(payload) });
    return this.wait((m) => m.code !== '0.00' && m.token.equals(token), 3000, from);
  }

  close(): void {
    this.#sock.close();
  }
}

/** An empty message (RFC 7252 §4.1). */
export function empty(type: number, mid: number): Msg {
  return { type, code: '0.00', mid, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) };
}
