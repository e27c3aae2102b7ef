/**
 * startCoapServer: node-coap's server (parsing, message deduplication, piggybacked and separate
 * responses, retransmission) with our own pieces where it falls short — datagram checks, Block1,
 * Block2, Observe bookkeeping — see docs/decisions/0004-coap.md.
 */
import { OutgoingMessage, Server, type CoapPacket, type IncomingMessage } from 'coap';
import type { Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { Block1Assembler } from './block1.js';
import { contentFormatOf } from './content-format.js';
import type { AdapterContext, RequestMeta } from './context.js';
import { checkDatagram, encodeReset } from './datagram.js';
import { dispatch } from './dispatch.js';
import type { CoapClient, CoapHooks, CoapLogger, CoapMessage, CoapServer } from './hooks.js';
import { resolveCoapLimits, type CoapLimits } from './limits.js';
import { sendFinal, sendNotification } from './notify.js';
import { ObserverRegistry, type Observer } from './observers.js';
import { OPT, removeOption, snapshotOptions } from './options.js';
import { RepresentationStore } from './representations.js';
import { resourceKey } from './resource.js';
import type { CoapResponse } from './responder.js';
import type { DtlsDatagramSocket } from './dtls-socket.js';
import type { SessionLookup } from './context.js';

/** Options of startCoapServer. */
export interface CoapServerOptions {
  /** UDP port; 0 picks any free port. */
  port: number;
  /** Address to bind (the hub defaults to loopback until DTLS exists). */
  host: string;
  hooks: CoapHooks;
  /** Largest message body accepted, whole or reassembled from blocks (4.13 beyond, with Size1). */
  maxPayloadBytes: number;
  log?: CoapLogger;
  /** Overrides of the bounds in limits.ts. */
  limits?: Partial<CoapLimits>;
  /**
   * CoAP over DTLS (coaps.ts): the datagrams come from this socket instead of a UDP port, and the
   * client is whoever the association's PSK identity names — never an `auth` query.
   */
  secure?: { socket: DtlsDatagramSocket; sessionOf: SessionLookup };
}

// RFC 7252 §4.8.2: EXCHANGE_LIFETIME; a CON notification unanswered this long means the client is gone.
const EXCHANGE_LIFETIME_MS = 247_000;
const OCTET_STREAM = 42; // RFC 7252 §12.3

/** node-coap's server with the datagram check, the option stripping and our request listener. */
class AdapterServer extends Server {
  readonly #metas = new WeakMap<object, RequestMeta>();
  readonly #inFlight = new Set<string>();
  readonly #pending = new Map<string, number>();
  readonly #live = new Set<CoapResponse>();

  constructor(private readonly ctx: AdapterContext) {
    super({ cacheSize: ctx.limits.dedupCacheBytes });
    this.on('request', (req: IncomingMessage, res: OutgoingMessage) => this.#onRequest(req, res));
  }

  /** RFC 7252 §3, §4.2, §4.3: format errors get a Reset (CON) or silence before node-coap parses. */
  override handleRequest(): (msg: Buffer, rsinfo: AddressInfo) => void {
    const inner = super.handleRequest();
    return (msg, rsinfo) => {
      const v = checkDatagram(msg);
      if (v.action === 'drop') return;
      if (v.action === 'reset') {
        (this._sock as Socket | null)?.send(encodeReset(v.messageId), rsinfo.port, rsinfo.address);
        return;
      }
      inner(msg, rsinfo);
    };
  }

  override _handle(packet: CoapPacket, rsinfo: AddressInfo): void {
    try {
      if (packet.ack === true || packet.reset === true) this.#onAckOrReset(packet, rsinfo);
      else if (!this.#beforeRequest(packet, rsinfo)) return;
      super._handle(packet, rsinfo);
    } catch (err) {
      this.ctx.log?.warn({ err, from: rsinfo.address }, 'coap datagram dropped');
    }
  }

  /** node-coap's own error path replies to `rsinfo.port` on localhost; log and drop instead. */
  override _sendError(payload: Buffer, rsinfo: AddressInfo): void {
    this.ctx.log?.warn(
      { from: rsinfo.address, error: payload.toString() },
      'coap datagram dropped',
    );
  }

  /**
   * Stops node-coap's piggyback timers of unanswered requests: fired after close, they would send
   * an empty ACK on the closed socket and throw from a timer (found by a test).
   */
  stopPending(): void {
    for (const res of this.#live) {
      if (res instanceof OutgoingMessage && res._ackTimer !== null) clearTimeout(res._ackTimer);
    }
    this.#live.clear();
  }

  #onAckOrReset(packet: CoapPacket, rsinfo: AddressInfo): void {
    const endpoint = `${rsinfo.address}:${rsinfo.port}`;
    const o = this.ctx.observers.byMessageId(endpoint, packet.messageId ?? -1);
    if (o === undefined) return;
    if (packet.reset === true) {
      // RFC 7641 §3.6: a Reset in reply to a notification cancels the observation.
      if (this.ctx.observers.remove(o)) o.stream.end();
    } else if (o.pendingCon === packet.messageId) {
      o.pendingCon = undefined; // RFC 7641 §4.5: the client is still interested
    }
  }

  /** Strips what node-coap must not act on and dedups in-flight requests; false to drop. */
  #beforeRequest(packet: CoapPacket, rsinfo: AddressInfo): boolean {
    const key = `${rsinfo.address}:${rsinfo.port}/${packet.messageId ?? -1}`;
    // RFC 7252 §4.5: a duplicate of a request still being processed is not processed twice;
    // node-coap answers duplicates from its cache once the response (or empty ACK) has gone out.
    if (this.#inFlight.has(key)) return false;
    const method = String(packet.code);
    const meta: RequestMeta = {
      method,
      options: snapshotOptions(packet),
      overloaded: (this.#pending.get(rsinfo.address) ?? 0) >= this.ctx.limits.maxPendingPerSource,
    };
    // Block-wise transfer is ours (block1.ts, handlers/get.ts): node-coap must not see the options.
    removeOption(packet, OPT.Block1);
    removeOption(packet, OPT.Block2);
    if (method !== '0.01') {
      // RFC 7641 §2: Observe means nothing outside GET/FETCH; node-coap would answer with an error.
      removeOption(packet, OPT.Observe);
      if (method !== '0.02') packet.code = '0.01'; // node-coap rejects FETCH early; we answer 4.05
    }
    this.#metas.set(packet, meta);
    return true;
  }

  #onRequest(req: IncomingMessage, res: OutgoingMessage): void {
    const meta = this.#metas.get(req._packet);
    if (meta === undefined) return;
    const addr = req.rsinfo.address;
    const key = `${addr}:${req.rsinfo.port}/${req._packet.messageId ?? -1}`;
    this.#inFlight.add(key);
    if (!meta.overloaded) this.#pending.set(addr, (this.#pending.get(addr) ?? 0) + 1);
    this.#live.add(res);
    void dispatch(this.ctx, req, res as CoapResponse, meta).finally(() => {
      this.#live.delete(res);
      this.#inFlight.delete(key);
      if (meta.overloaded) return;
      const n = (this.#pending.get(addr) ?? 1) - 1;
      if (n <= 0) this.#pending.delete(addr);
      else this.#pending.set(addr, n);
    });
  }
}

/** Starts a CoAP endpoint (RFC 7252 + Observe RFC 7641 + block-wise RFC 7959) on UDP. */
export async function startCoapServer(
  opts: CoapServerOptions,
): Promise<CoapServer & { port: number }> {
  if (!Number.isInteger(opts.maxPayloadBytes) || opts.maxPayloadBytes <= 0) {
    throw new RangeError('maxPayloadBytes must be a positive integer');
  }
  const limits = resolveCoapLimits(opts.limits);
  const ctx: AdapterContext = {
    hooks: opts.hooks,
    limits,
    maxPayloadBytes: opts.maxPayloadBytes,
    assembler: new Block1Assembler({ ...limits, maxPayloadBytes: opts.maxPayloadBytes }),
    observers: new ObserverRegistry(limits),
    representations: new RepresentationStore(limits.maxRepresentations, limits.representationTtlMs),
    log: opts.log,
    counters: { requests: 0, refused: 0 },
    closed: false,
    now: () => Date.now(),
    sessionOf: opts.secure?.sessionOf,
  };
  const server = new AdapterServer(ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (err?: Error): void => (err ? reject(err) : resolve());
    if (opts.secure) server.listen(opts.secure.socket, done);
    else server.listen(opts.port, opts.host, done);
  });
  server.removeAllListeners('error');
  server.on('error', (err: unknown) => ctx.log?.warn({ err }, 'coap socket error'));
  const sock = server._sock as Socket;
  const port = sock.address().port;
  if (opts.secure === undefined) {
    ctx.log?.info(
      { host: opts.host, port },
      'coap listening (no DTLS: device keys travel in clear)',
    );
  }

  const deliver = (m: CoapMessage): void => {
    const resource = resourceKey(m);
    const set = ctx.observers.of(resource);
    if (set.size === 0 || ctx.closed) return;
    // A type without a Content-Format (e.g. published over HTTP) goes out as opaque bytes.
    const contentFormat = contentFormatOf(m.contentType) ?? OCTET_STREAM;
    const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
    const now = ctx.now();
    for (const o of [...set]) {
      if (o.accept !== undefined && o.accept !== contentFormat) continue;
      if (o.pendingCon !== undefined && now - o.pendingConAt > EXCHANGE_LIFETIME_MS) {
        drop(o, 'confirmable notification unanswered'); // RFC 7641 §4.5
        continue;
      }
      try {
        const r = sendNotification(o, { resource, contentFormat, payload }, ctx.representations, {
          now,
          confirmIntervalMs: limits.confirmIntervalMs,
        });
        if (r.mid === undefined) continue;
        if (r.confirmable) {
          o.pendingCon = r.mid;
          o.pendingConAt = now;
        }
        ctx.observers.sent(o, r.mid);
      } catch (err) {
        drop(o, 'notification could not be encoded', err);
      }
    }
  };

  const drop = (o: Observer, why: string, err?: unknown): void => {
    ctx.log?.warn({ client: o.client.id, err }, `coap observer removed: ${why}`);
    if (ctx.observers.remove(o)) o.stream.end();
  };

  /** Ends one observation with a final error notification (an access change took it away). */
  const end = (o: Observer, code: string, why: string): void => {
    if (!ctx.observers.remove(o)) return;
    try {
      if (!ctx.closed) sendFinal(o, code, why);
    } catch (err) {
      ctx.log?.warn({ err, client: o.client.id }, 'coap final notification could not be sent');
    }
    o.stream.end();
  };
  const endObservations = (match: (c: CoapClient) => boolean, code = '4.03'): number => {
    let n = 0;
    for (const o of ctx.observers.all()) {
      if (!match(o.client)) continue;
      end(o, code, 'the credential or device state no longer allows this observation');
      n++;
    }
    return n;
  };
  const reauthorize = async (match: (c: CoapClient) => boolean): Promise<number> => {
    let n = 0;
    for (const o of ctx.observers.all()) {
      if (!match(o.client)) continue;
      const ok = await ctx.hooks.canSubscribe(o.client, o.ref.channelId).catch(() => false);
      if (ok) continue;
      end(o, '4.03', 'this device may no longer observe this channel');
      n++;
    }
    return n;
  };

  return {
    port,
    deliver,
    endObservations,
    reauthorize,
    stats: () => ({
      observers: ctx.observers.size,
      requests: ctx.counters.requests,
      refused: ctx.counters.refused,
    }),
    close: async () => {
      if (ctx.closed) return;
      ctx.closed = true;
      server.stopPending();
      for (const o of ctx.observers.all()) {
        ctx.observers.remove(o);
        o.stream.end();
      }
      ctx.assembler.clear();
      ctx.representations.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
