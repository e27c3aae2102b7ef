/** The one place an error becomes a CoAP response code (RFC 7252 §5.9, §12.1.2). */
import { BulwarkError } from '@bulwark/protocol';
import { OPT, encodeUint } from './options.js';

/** Protocol-level refusals that have no Bulwark error code: they exist only in CoAP. */
export type CoapFaultCode =
  | '4.02' // Bad Option (RFC 7252 §5.9.2.3)
  | '4.05' // Method Not Allowed (RFC 7252 §5.9.2.6)
  | '4.06' // Not Acceptable (RFC 7252 §5.9.2.7)
  | '4.08'; // Request Entity Incomplete (RFC 7959 §2.9.2)

/** A refusal decided by the CoAP layer itself (bad option, wrong method, broken block sequence). */
export class CoapFault extends Error {
  override readonly name = 'CoapFault';
  constructor(
    readonly code: CoapFaultCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a refusal looks like on the wire: code, options and a diagnostic payload. */
export interface CoapReply {
  code: string;
  options: [number, Buffer][];
  /** RFC 7252 §5.5.2 diagnostic payload: UTF-8, no Content-Format; empty for server faults. */
  diagnostic: string;
}

/** Context a refusal may need: the size limit (Size1) and the default retry hint (Max-Age). */
export interface ReplyContext {
  maxPayloadBytes: number;
  retryAfterSeconds: number;
}

// Diagnostics stay short: the whole response must fit one datagram without Block2.
const MAX_DIAGNOSTIC = 160;

/**
 * Maps any error to a CoAP response. Bulwark errors go by code where CoAP has a more precise
 * answer, otherwise by kind; anything else is a 5.00 with no detail (nothing internal leaks).
 */
export function coapReply(err: unknown, ctx: ReplyContext): CoapReply {
  if (err instanceof CoapFault) return reply(err.code, err.message);
  if (!(err instanceof BulwarkError)) return reply('5.00', '');
  const text = `${err.code}: ${err.message}`;
  const retry = (): [number, Buffer][] => {
    const s = err.extra['retryAfter'];
    const secs = typeof s === 'number' && s > 0 ? Math.ceil(s) : ctx.retryAfterSeconds;
    return [[OPT.MaxAge, encodeUint(secs)]]; // RFC 7252 §5.9.3.4: Max-Age says when to retry
  };
  switch (err.kind) {
    case 'invalid':
      return reply('4.00', text); // RFC 7252 §5.9.2.1
    case 'unauthenticated':
      return reply('4.01', text); // RFC 7252 §5.9.2.2
    case 'forbidden':
      return reply('4.03', text); // RFC 7252 §5.9.2.4
    case 'not_found':
    case 'gone':
      return reply('4.04', text); // RFC 7252 §5.9.2.5
    case 'conflict':
      return reply('4.09', text); // RFC 8132 §2.3.2
    case 'too_large':
      // RFC 7252 §5.9.2.9 + RFC 7959 §2.9.3: Size1 tells the largest body we accept.
      return reply('4.13', text, [[OPT.Size1, encodeUint(ctx.maxPayloadBytes)]]);
    case 'unsupported_media':
      return reply('4.15', text); // RFC 7252 §5.9.2.10
    case 'rate_limited':
    case 'unavailable':
      return reply('5.03', text, retry()); // RFC 7252 §5.9.3.4
    case 'internal':
      return reply('5.00', '');
  }
}

function reply(code: string, diagnostic: string, options: [number, Buffer][] = []): CoapReply {
  const d =
    Buffer.byteLength(diagnostic) > MAX_DIAGNOSTIC
      ? Buffer.from(diagnostic)
          .subarray(0, MAX_DIAGNOSTIC)
          .toString('utf8')
          .replace(/\uFFFD$/, '')
      : diagnostic;
  return { code, options, diagnostic: d };
}

/** Is this response code a refusal (client or server error class, RFC 7252 §5.9)? */
export function isRefusal(code: string): boolean {
  return code.startsWith('4.') || code.startsWith('5.');
}
