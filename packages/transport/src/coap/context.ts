/** What every request handler of the adapter shares: hooks, limits and the bounded state. */
import type { CoapPacket, IncomingMessage } from 'coap';
import type { AddressInfo } from 'node:net';
import type { Block1Assembler } from './block1.js';
import type { CoapClient, CoapHooks, CoapLogger } from './hooks.js';
import type { CoapLimits } from './limits.js';
import type { ObserverRegistry } from './observers.js';
import type { RepresentationStore } from './representations.js';
import type { RawOption } from './options.js';
import type { ResourceRef } from './resource.js';
import type { CoapResponse, WireOption } from './responder.js';

/** The adapter's shared state (one per server; no module-level singletons). */
export interface AdapterContext {
  hooks: CoapHooks;
  limits: Readonly<CoapLimits>;
  maxPayloadBytes: number;
  assembler: Block1Assembler;
  observers: ObserverRegistry;
  representations: RepresentationStore;
  log: CoapLogger | undefined;
  counters: { requests: number; refused: number };
  /** Over DTLS: the PSK identity of the association a request came on (dispatch.ts). */
  sessionOf: SessionLookup | undefined;
  /** Set by close(): nothing is sent after it (the socket is gone). */
  closed: boolean;
  now(): number;
}

/** What the server learned about a request before node-coap saw it (options it must not act on). */
export interface RequestMeta {
  /** The request code as received (RFC 7252 §12.1.1), e.g. '0.02' for POST. */
  method: string;
  /** Every option as received (node-coap rewrites its own copy), Block1/Block2/Observe included. */
  options: RawOption[];
  /** Set when the source already has too many requests awaiting a hook. */
  overloaded: boolean;
}

/** One authenticated request on a valid resource, as handlers see it. */
export interface Exchange {
  ctx: AdapterContext;
  req: IncomingMessage;
  res: CoapResponse;
  packet: CoapPacket;
  rsinfo: AddressInfo;
  /** `address:port` of the requesting endpoint. */
  endpoint: string;
  meta: RequestMeta;
  client: CoapClient;
  ref: ResourceRef;
  /** Sends the response (once) and counts refusals. */
  reply(code: string, options?: WireOption[], payload?: Buffer): void;
}

/**
 * The credential of the DTLS association of an endpoint, if any: its PSK identity and key version,
 * or its client certificate (leaf, DER).
 */
export type SessionLookup = (
  address: string,
  port: number,
) => { identity: string; pskRef: string; certificate?: Buffer; rawPublicKey?: Buffer } | undefined;
