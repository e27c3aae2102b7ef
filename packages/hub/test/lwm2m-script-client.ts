/**
 * A scripted LwM2M 1.1 client on raw UDP (coap-packet), for the firmware tests (decision 0044): it
 * registers, answers Read / Write / Execute / Observe on a table of resources, notifies observers
 * (NON) when a resource changes, and sends registration Updates. What it does on a Package URI
 * write or an Update execute is the test's script (`onWrite`, `onExecute`). Every wait is bounded.
 */
import { createSocket, type Socket } from 'node:dgram';
import { generate, parse, type ParsedPacket } from 'coap-packet';
import { decodeTlv } from '@bulwark/core';

type Value = string | number;

const uint = (n: number): Buffer => {
  if (n === 0) return Buffer.alloc(0);
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v % 256);
  return Buffer.from(b);
};
const pathOf = (p: ParsedPacket) =>
  '/' +
  p.options
    .filter((o) => o.name === 'Uri-Path')
    .map((o) => o.value.toString())
    .join('/');

/** The scripted client. */
export class ScriptClient {
  readonly sock: Socket = createSocket('udp4');
  /** Resource values by path ("/3/0/3"). */
  readonly values = new Map<string, Value>();
  /** Requests the server sent, in order ("PUT /5/0/1", "POST /5/0/2", "GET /5/0/3 observe"). */
  readonly seen: string[] = [];
  location = '';
  onWrite: (path: string, value: string) => void = () => undefined;
  /** The response code of an Execute (default 2.04). */
  onExecute: (path: string) => string = () => '2.04';
  readonly #observers = new Map<string, { token: Buffer; seq: number }>();
  readonly #waiting = new Map<string, (p: ParsedPacket) => void>();
  #mid = Math.floor(Math.random() * 30_000);

  constructor(
    private readonly port: number,
    readonly endpoint: string,
    initial: Record<string, Value>,
  ) {
    for (const [k, v] of Object.entries(initial)) this.values.set(k, v);
    this.sock.on('message', (m) => this.#message(m));
  }

  async open(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
  }

  /** Registers (objects: link format); resolves with the response code. */
  async register(objects = '</1/0>,</3/0>,</5/0>', query: string[] = []): Promise<string> {
    const r = await this.#request(
      '0.02',
      ['rd'],
      [`ep=${this.endpoint}`, 'lwm2m=1.1', 'lt=300', ...query],
      objects,
    );
    const loc = r.options.filter((o) => o.name === 'Location-Path').map((o) => o.value.toString());
    if (r.code === '2.01') this.location = loc.join('/');
    this.#observers.clear(); // a new registration: the server observes anew
    return r.code;
  }

  /** A registration Update (no parameters); resolves with the response code. */
  async update(): Promise<string> {
    return (await this.#request('0.02', this.location.split('/'), [], undefined)).code;
  }

  /** The 1.1 Send operation (POST /dp) with this payload and Content-Format; the response code. */
  async send(payload: Uint8Array, format: number): Promise<string> {
    return (await this.#request('0.02', ['dp'], [], Buffer.from(payload), format)).code;
  }

  /** Sets a resource; an observer of it gets a notification. */
  set(path: string, value: Value): void {
    this.values.set(path, value);
    const o = this.#observers.get(path);
    if (!o) return;
    o.seq++;
    this.#send({
      code: '2.05',
      confirmable: false,
      messageId: this.#nextMid(),
      token: o.token,
      options: [
        { name: 'Observe', value: uint(o.seq) },
        { name: 'Content-Format', value: uint(0) },
      ],
      payload: Buffer.from(String(value)),
    });
  }

  /** Is the server observing this path? */
  observed(path: string): boolean {
    return this.#observers.has(path);
  }

  close(): void {
    this.sock.close();
  }

  #nextMid(): number {
    this.#mid = (this.#mid + 1) % 65_536;
    return this.#mid;
  }

  #send(p: Parameters<typeof generate>[0]): void {
    this.sock.send(generate(p), this.port, '127.0.0.1');
  }

  #request(
    code: string,
    path: string[],
    query: string[],
    payload: string | Buffer | undefined,
    format = 40,
  ) {
    const token = Buffer.from([
      Math.floor(Math.random() * 256),
      Math.floor(Math.random() * 256),
      7,
      9,
    ]);
    const messageId = this.#nextMid();
    return new Promise<ParsedPacket>((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiting.delete(token.toString('hex'));
        reject(new Error(`no answer to ${code} /${path.join('/')} in 10 s`));
      }, 10_000);
      this.#waiting.set(token.toString('hex'), (p) => {
        clearTimeout(t);
        resolve(p);
      });
      this.#send({
        code,
        confirmable: true,
        messageId,
        token,
        options: [
          ...path.map((s) => ({ name: 'Uri-Path' as const, value: Buffer.from(s) })),
          ...(payload !== undefined
            ? [{ name: 'Content-Format' as const, value: uint(format) }]
            : []),
          ...query.map((q) => ({ name: 'Uri-Query' as const, value: Buffer.from(q) })),
        ],
        ...(payload !== undefined ? { payload: Buffer.from(payload) } : {}),
      });
    });
  }

  #message(m: Buffer): void {
    let p: ParsedPacket;
    try {
      p = parse(m);
    } catch {
      return;
    }
    if (p.code.startsWith('2.') || p.code.startsWith('4.') || p.code.startsWith('5.')) {
      this.#waiting.get(p.token.toString('hex'))?.(p);
      this.#waiting.delete(p.token.toString('hex'));
      return;
    }
    if (p.code === '0.00') return;
    const path = pathOf(p);
    const answer = (
      code: string,
      options: { name: string; value: Buffer }[] = [],
      payload?: Buffer,
    ) =>
      this.#send({
        code,
        ack: p.confirmable,
        confirmable: false,
        messageId: p.messageId,
        token: p.token,
        options: options,
        ...(payload ? { payload } : {}),
      });
    if (p.code === '0.01') {
      const observe = p.options.some((o) => o.name === 'Observe');
      this.seen.push(`GET ${path}${observe ? ' observe' : ''}`);
      const below = [...this.values].filter(([k]) => k === path || k.startsWith(`${path}/`));
      if (below.length === 0) return answer('4.04');
      if (observe) this.#observers.set(path, { token: p.token, seq: 1 });
      const obs = observe ? [{ name: 'Observe', value: uint(1) }] : [];
      if (below.length === 1 && below[0]![0] === path)
        return answer(
          '2.05',
          [...obs, { name: 'Content-Format', value: uint(0) }],
          Buffer.from(String(below[0]![1])),
        );
      const senml = below.map(([k, v], i) => ({
        ...(i === 0 ? { bn: `${path}/` } : {}),
        n: k.slice(path.length + 1),
        ...(typeof v === 'number' ? { v } : { vs: v }),
      }));
      return answer(
        '2.05',
        [...obs, { name: 'Content-Format', value: uint(110) }],
        Buffer.from(JSON.stringify(senml)),
      );
    }
    if (p.code === '0.03') {
      const e = decodeTlv(p.payload)[0];
      const value = Buffer.from(e?.value ?? []).toString('utf8');
      this.seen.push(`PUT ${path}`);
      this.values.set(path, value);
      answer('2.04');
      this.onWrite(path, value);
      return;
    }
    if (p.code === '0.02') {
      this.seen.push(`POST ${path}`);
      const code = this.onExecute(path);
      answer(code);
      return;
    }
    answer('4.05');
  }
}
