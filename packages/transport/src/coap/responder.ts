/**
 * Sending one response through node-coap (which keeps piggybacking, deduplication and
 * retransmission), for both of its response objects.
 */
import { ObserveWriteStream, OutgoingMessage } from 'coap';

/** A node-coap response object: a plain response or an observation stream. */
export type CoapResponse = OutgoingMessage | ObserveWriteStream;

/** One response option: number and encoded value. */
export type WireOption = [number, Buffer];

/** Sends a response with this code, options and payload, once. */
export function respond(
  res: CoapResponse,
  code: string,
  options: WireOption[],
  payload?: Buffer,
): void {
  // Numeric names are accepted by coap-packet's encoder, which sorts options (RFC 7252 §3.1).
  const opts = options.map(([n, value]) => ({ name: String(n), value }));
  if (res instanceof ObserveWriteStream) {
    res._packet.options = opts;
    res.statusCode = code;
    res._doSend(payload ?? Buffer.alloc(0));
    // node-coap sends a bare response on 'finish' when nothing was sent; mark this one as sent.
    res._counter = Math.max(res._counter, 1);
    return;
  }
  res._packet.options = opts;
  res.code = code;
  // The base class's end(): node-coap's OutMessage.end would re-slice bodies of ≥ 1024 bytes into
  // its own Block2 with a 2-byte XOR ETag; block-wise is ours (block2.ts), so bypass it.
  OutgoingMessage.prototype.end.call(res, payload ?? Buffer.alloc(0));
}
