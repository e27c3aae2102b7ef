/**
 * A CoAP endpoint that is server and client on ONE UDP socket (decision 0043): an LwM2M server
 * answers the client's registration requests and sends its own requests (Read, Write, Observe …)
 * to the address the client registered from — through a NAT that is the only address that works.
 * node-coap's Server and Agent cannot share a socket, so this small engine on `coap-packet` does
 * the message layer itself: piggybacked answers with a bounded dedup cache (RFC 7252 §4.5),
 * Confirmable requests with retransmission (§4.2), separate responses (§5.2.2), and notifications
 * matched by token (RFC 7641 §3.4) — unknown ones get a Reset (§3.6).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import type { Lwm2mSecurity } from '@bulwark/core';
import { generate, parse, type NamedOption, type ParsedPacket } from 'coap-packet';

/** Where a datagram came from. */
interface RemoteInfo {
  address: string;
  port: number;
}

/**
 * The datagram socket the engine runs on: a UDP socket of its own, or a dgram-like socket over
 * the associations of a DTLS server (`coap/dtls-socket.ts`) — the same engine either way.
 */
export interface DatagramSocket {
  on(event: 'message', fn: (msg: Buffer, rinfo: RemoteInfo) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  send(msg: Buffer, port: number, address: string): void;
  close(cb?: () => void): void;
}

/** An incoming request as the handler sees it. */
export interface CoapRequestIn {
  method: string;
  /** Uri-Path segments. */
  path: string[];
  /** Uri-Query "k=v" (or "k") strings. */
  query: string[];
  contentFormat: number | undefined;
  payload: Buffer;
  /** "ip:port" of the sender. */
  source: string;
  /** Over DTLS: the PSK identity the sender's association proved (absent on plain UDP). */
  security?: Lwm2mSecurity;
}

/** A response to send. */
export interface CoapReply {
  code: string;
  options?: NamedOption[];
  payload?: Buffer;
}

/** A response or notification received. */
export interface CoapResponseIn {
  code: string;
  contentFormat: number | undefined;
  observe: number | undefined;
  block2: Buffer | undefined;
  /** Location-Path segments (a Create's new instance, Core §6.3.5). */
  locationPath?: string[];
  payload: Buffer;
}

/** A request to send. */
export interface CoapRequestOut {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string[];
  options?: NamedOption[];
  payload?: Buffer;
}

/** RFC 7252 §4.8 defaults. */
const ACK_TIMEOUT_MS = 2000;
const MAX_RETRANSMIT = 4;
/** A separate response later than this is given up (EXCHANGE_LIFETIME is 247 s; clients answer fast). */
const RESPONSE_TIMEOUT_MS = 30_000;
/** Answers kept for duplicates: enough for a burst of registrations, bounded in count and time. */
const DEDUP_MAX = 4096;
const DEDUP_MS = 60_000;
/** Observations held per endpoint socket (the service observes a few paths per client). */
const MAX_OBSERVATIONS = 100_000;

const METHODS: Record<string, string> = {
  '0.01': 'GET',
  '0.02': 'POST',
  '0.03': 'PUT',
  '0.04': 'DELETE',
};
const CODES: Record<CoapRequestOut['method'], string> = {
  GET: '0.01',
  POST: '0.02',
  PUT: '0.03',
  DELETE: '0.04',
};

/** Encodes a CoAP uint option value in the fewest bytes (RFC 7252 §3.2). */
export function uintOption(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from(bytes);
}

const uint = (b: Buffer | undefined): number | undefined =>
  b === undefined ? undefined : b.reduce((n, x) => n * 256 + x, 0);

const opt = (p: ParsedPacket, name: string): Buffer | undefined =>
  p.options.find((o) => o.name === name)?.value;

interface Pending {
  address: string;
  port: number;
  mid: number;
  resolve(r: CoapResponseIn): void;
  reject(e: Error): void;
  retransmit: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout;
}

/** The engine's logger. */
export interface EndpointLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** One UDP socket, server and client. */
export class CoapEndpoint {
  readonly #socket: DatagramSocket;
  /** The UDP socket, when the endpoint made its own. */
  readonly #udp: Socket | undefined;
  #mid = randomInt(0, 0x10000);
  readonly #pending = new Map<string, Pending>();
  readonly #byMid = new Map<string, string>();
  readonly #observations = new Map<
    string,
    { address: string; port: number; on: (r: CoapResponseIn) => void }
  >();
  readonly #dedup = new Map<string, { at: number; reply: Buffer | null }>();
  #closed = false;

  constructor(
    private readonly d: {
      onRequest(req: CoapRequestIn): Promise<CoapReply>;
      log: EndpointLogger;
      /** A socket to run on (DTLS); without it the endpoint makes a UDP socket and `listen`s. */
      socket?: DatagramSocket;
      /** The security context of a sender (DTLS: its association; undefined: none). */
      securityOf?(address: string, port: number): Lwm2mSecurity | undefined;
    },
  ) {
    this.#udp = d.socket === undefined ? createSocket('udp4') : undefined;
    this.#socket = d.socket ?? this.#udp!;
    this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#socket.on('error', (err) => this.d.log.warn({ err }, 'LwM2M socket error'));
  }

  /** Binds its own UDP socket; resolves with the port. */
  listen(port: number, host: string): Promise<number> {
    const udp = this.#udp;
    if (udp === undefined) return Promise.reject(new Error('the endpoint runs on a given socket'));
    return new Promise((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve(udp.address().port);
      });
    });
  }

  /** Sends a Confirmable request; resolves with the response (any code). */
  request(address: string, port: number, req: CoapRequestOut): Promise<CoapResponseIn> {
    return this.#request(address, port, req, randomBytes(8));
  }

  /**
   * Sends a GET with Observe 0; the first response resolves, later notifications with the same
   * token go to `on`. Returns the token to cancel with.
   */
  async observe(
    address: string,
    port: number,
    req: CoapRequestOut,
    on: (r: CoapResponseIn) => void,
  ): Promise<{ token: string; first: CoapResponseIn }> {
    if (this.#observations.size >= MAX_OBSERVATIONS) throw new Error('too many observations');
    const token = randomBytes(8);
    const key = token.toString('hex');
    this.#observations.set(key, { address, port, on });
    try {
      const first = await this.#request(
        address,
        port,
        {
          ...req,
          options: [{ name: 'Observe', value: Buffer.alloc(0) }, ...(req.options ?? [])],
        },
        token,
      );
      if (!first.code.startsWith('2.') || first.observe === undefined)
        this.#observations.delete(key);
      return { token: key, first };
    } catch (err) {
      this.#observations.delete(key);
      throw err;
    }
  }

  /** Forgets observations (their next notification gets a Reset, which ends them, RFC 7641 §3.6). */
  forget(tokens: Iterable<string>): void {
    for (const t of tokens) this.#observations.delete(t);
  }

  /** Stops: pending requests fail, the socket closes. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const p of this.#pending.values()) this.#finish(p, new Error('endpoint closed'));
    this.#observations.clear();
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  get stats(): { pending: number; observations: number } {
    return { pending: this.#pending.size, observations: this.#observations.size };
  }

  #request(
    address: string,
    port: number,
    req: CoapRequestOut,
    token: Buffer,
  ): Promise<CoapResponseIn> {
    if (this.#closed) return Promise.reject(new Error('endpoint closed'));
    const mid = this.#nextMid();
    const options: NamedOption[] = [
      ...req.path.map((s) => ({ name: 'Uri-Path' as const, value: Buffer.from(s) })),
      ...(req.options ?? []),
    ];
    const msg = generate({
      code: CODES[req.method],
      confirmable: true,
      messageId: mid,
      token,
      options,
      ...(req.payload ? { payload: req.payload } : {}),
    });
    const key = token.toString('hex');
    return new Promise((resolve, reject) => {
      const p: Pending = {
        address,
        port,
        mid,
        resolve,
        reject,
        retransmit: undefined,
        deadline: setTimeout(
          () => this.#finish(p, new Error(`no response from ${address}:${port} in time`)),
          RESPONSE_TIMEOUT_MS,
        ),
      };
      this.#pending.set(key, p);
      this.#byMid.set(`${address}:${port}:${mid}`, key);
      let tries = 0;
      let wait = ACK_TIMEOUT_MS * (1 + Math.random() * 0.5);
      const send = () => {
        if (this.#closed) return;
        // Over DTLS a request into no association is lost for sure: fail it now rather than
        // retransmit for RESPONSE_TIMEOUT_MS (holding the device's twin work behind it).
        if (this.d.securityOf && this.d.securityOf(address, port) === undefined) {
          this.#finish(p, new Error(`no DTLS association with ${address}:${port}`));
          return;
        }
        this.#socket.send(msg, port, address);
        if (tries++ < MAX_RETRANSMIT) {
          p.retransmit = setTimeout(send, wait);
          wait *= 2;
        }
      };
      send();
    });
  }

  #finish(p: Pending, result: CoapResponseIn | Error): void {
    clearTimeout(p.retransmit);
    clearTimeout(p.deadline);
    this.#byMid.delete(`${p.address}:${p.port}:${p.mid}`);
    for (const [k, v] of this.#pending) if (v === p) this.#pending.delete(k);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }

  #nextMid(): number {
    this.#mid = (this.#mid + 1) & 0xffff;
    return this.#mid;
  }

  #send(buf: Buffer, rinfo: RemoteInfo): void {
    if (!this.#closed) this.#socket.send(buf, rinfo.port, rinfo.address);
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    try {
      this.#dispatch(msg, rinfo);
    } catch (err) {
      // Nothing a datagram carries may take the socket down.
      this.d.log.debug({ err, from: `${rinfo.address}:${rinfo.port}` }, 'LwM2M: datagram dropped');
    }
  }

  #dispatch(msg: Buffer, rinfo: RemoteInfo): void {
    let p: ParsedPacket;
    try {
      p = parse(msg);
    } catch {
      return; // RFC 7252 §4.2/§4.3: a message we cannot parse is dropped
    }
    const from = `${rinfo.address}:${rinfo.port}`;
    // RFC 7252 §3: TKL 9-15 is a format error; classes 1, 6 and 7 are reserved. A Confirmable
    // one gets a Reset (§4.2), anything else is dropped (§4.3).
    const cls = p.code[0];
    if (p.token.length > 8 || cls === '1' || cls === '6' || cls === '7') {
      if (p.confirmable)
        this.#send(generate({ code: '0.00', reset: true, messageId: p.messageId }), rinfo);
      return;
    }
    // A Reset is always empty and never answered (§4.2); anything else claiming to be one is dropped.
    if (p.reset && p.code !== '0.00') return;
    if (p.code === '0.00') {
      // An empty ACK (a separate response follows) or a Reset of our request or notification.
      const key = this.#byMid.get(`${from}:${p.messageId}`);
      const pending = key ? this.#pending.get(key) : undefined;
      if (pending) {
        clearTimeout(pending.retransmit);
        if (p.reset) this.#finish(pending, new Error(`${from} reset the request`));
      } else if (p.confirmable) {
        this.#send(generate({ code: '0.00', reset: true, messageId: p.messageId }), rinfo); // CoAP ping
      }
      return;
    }
    const method = METHODS[p.code];
    if (method === undefined && p.code.startsWith('0.')) {
      if (p.confirmable) this.#reply(p, rinfo, { code: '4.05' });
      return;
    }
    if (method !== undefined) {
      void this.#onRequest(p, rinfo, method, from);
      return;
    }
    this.#onResponse(p, rinfo, from);
  }

  #onResponse(p: ParsedPacket, rinfo: RemoteInfo, from: string): void {
    const key = p.token.toString('hex');
    const r: CoapResponseIn = {
      code: p.code,
      contentFormat: uint(opt(p, 'Content-Format')),
      observe: uint(opt(p, 'Observe')),
      block2: opt(p, 'Block2'),
      locationPath: p.options
        .filter((o) => o.name === 'Location-Path')
        .map((o) => o.value.toString('utf8')),
      payload: p.payload,
    };
    // A separate response or a notification is acknowledged when Confirmable (§5.2.2).
    if (p.confirmable)
      this.#send(generate({ code: '0.00', ack: true, messageId: p.messageId }), rinfo);
    const pending = this.#pending.get(key);
    if (pending && pending.address === rinfo.address && pending.port === rinfo.port) {
      this.#finish(pending, r);
      return;
    }
    const obs = this.#observations.get(key);
    if (obs && obs.address === rinfo.address && obs.port === rinfo.port) {
      if (!r.code.startsWith('2.')) this.#observations.delete(key); // RFC 7641 §3.2
      obs.on(r);
      return;
    }
    if (!p.ack) {
      this.d.log.debug({ from, code: p.code }, 'LwM2M: response to no request of ours: Reset');
      this.#send(generate({ code: '0.00', reset: true, messageId: p.messageId }), rinfo);
    }
  }

  async #onRequest(
    p: ParsedPacket,
    rinfo: RemoteInfo,
    method: string,
    from: string,
  ): Promise<void> {
    const dk = `${from}:${p.messageId}`;
    const seen = this.#dedup.get(dk);
    if (seen && Date.now() - seen.at < DEDUP_MS) {
      if (seen.reply) this.#send(seen.reply, rinfo); // §4.5: the same answer again
      return; // still in flight: the first copy will be answered
    }
    this.#remember(dk, null);
    let reply: CoapReply;
    try {
      reply = await this.d.onRequest({
        method,
        path: p.options.filter((o) => o.name === 'Uri-Path').map((o) => o.value.toString('utf8')),
        query: p.options.filter((o) => o.name === 'Uri-Query').map((o) => o.value.toString('utf8')),
        contentFormat: uint(opt(p, 'Content-Format')),
        payload: p.payload,
        source: from,
        ...this.#security(rinfo),
      });
    } catch (err) {
      this.d.log.warn({ err, from }, 'LwM2M request handler failed');
      reply = { code: '5.00' };
    }
    try {
      const buf = this.#reply(p, rinfo, reply);
      if (p.confirmable) this.#remember(dk, buf);
      else this.#dedup.delete(dk);
    } catch (err) {
      this.#dedup.delete(dk);
      this.d.log.warn({ err, from }, 'LwM2M: answer could not be encoded');
    }
  }

  #security(rinfo: RemoteInfo): { security?: Lwm2mSecurity } {
    const s = this.d.securityOf?.(rinfo.address, rinfo.port);
    return s === undefined ? {} : { security: s };
  }

  #reply(p: ParsedPacket, rinfo: RemoteInfo, r: CoapReply): Buffer {
    const buf = generate({
      code: r.code,
      ...(p.confirmable ? { ack: true, messageId: p.messageId } : { messageId: this.#nextMid() }),
      token: p.token,
      options: r.options ?? [],
      ...(r.payload ? { payload: r.payload } : {}),
    });
    this.#send(buf, rinfo);
    return buf;
  }

  #remember(key: string, reply: Buffer | null): void {
    this.#dedup.delete(key);
    if (this.#dedup.size >= DEDUP_MAX) {
      const now = Date.now();
      for (const [k, v] of this.#dedup) {
        if (this.#dedup.size < DEDUP_MAX && now - v.at < DEDUP_MS) break;
        this.#dedup.delete(k);
      }
    }
    this.#dedup.set(key, { at: Date.now(), reply });
  }
}
