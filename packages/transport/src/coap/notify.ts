/**
 * Sending one notification (RFC 7641 §4.2) on an observation's node-coap stream: our own Observe
 * sequence, our choice of message type (RFC 7641 §4.5), and block 0 + ETag for large bodies
 * (RFC 7959 §2.6). node-coap's stream would send every notification as the registration's type
 * and, after a NON registration, as ACKs with fresh Message IDs; it has no Block2 for them.
 */
import { blockSize, encodeBlock } from './block-option.js';
import type { Observer } from './observers.js';
import { OPT, encodeUint } from './options.js';
import type { RepresentationStore } from './representations.js';
import type { WireOption } from './responder.js';

/** What a notification carries. */
export interface Notification {
  resource: string;
  contentFormat: number;
  payload: Buffer;
}

/** Sends one notification; returns the Message ID it went out with and whether it is Confirmable. */
export function sendNotification(
  o: Observer,
  n: Notification,
  store: RepresentationStore,
  opts: { now: number; confirmIntervalMs: number },
): { mid: number | undefined; confirmable: boolean } {
  o.seq = (o.seq + 1) & 0xffffff; // RFC 7641 §4.4: 24-bit sequence numbers
  const options: WireOption[] = [
    [OPT.Observe, encodeUint(o.seq)],
    [OPT.ContentFormat, encodeUint(n.contentFormat)],
  ];
  let body = n.payload;
  const size = blockSize(o.szx);
  if (body.length > size) {
    const rep = store.put(n.resource, n.contentFormat, n.payload, opts.now);
    options.push(
      [OPT.ETag, rep.etag],
      [OPT.Block2, encodeBlock({ num: 0, more: true, szx: o.szx })],
      [OPT.Size2, encodeUint(body.length)], // RFC 7959 §4: the size of the whole representation
    );
    body = body.subarray(0, size);
  }
  // RFC 7641 §4.5: NON by default, but a CON at least every confirmIntervalMs, one at a time.
  const confirmable =
    o.pendingCon === undefined && opts.now - o.lastConAt >= opts.confirmIntervalMs;
  const s = o.stream;
  s._packet.options = options.map(([num, value]) => ({ name: String(num), value }));
  s._packet.confirmable = confirmable;
  s._packet.ack = false;
  s._packet.reset = false;
  delete s._packet.messageId; // a notification is a new message (RFC 7252 §4.4)
  s.statusCode = '2.05';
  let mid: number | undefined;
  const send = s._send;
  // coap-packet assigns the Message ID while encoding; capture it to match ACK and Reset.
  s._send = (stream, packet) => {
    send(stream, packet);
    mid = packet.messageId;
  };
  try {
    s._doSend(body);
  } finally {
    s._send = send;
  }
  s._counter = o.seq === 0 ? 1 : o.seq; // keep node-coap's "nothing sent yet" logic quiet
  if (confirmable) o.lastConAt = opts.now;
  return { mid, confirmable };
}

/**
 * Ends an observation from the server's side (RFC 7641 §3.2): one last notification with a
 * non-2.xx code and no Observe option (§4.2), after which the client forgets the observation.
 */
export function sendFinal(o: Observer, code: string, diagnostic: string): void {
  const s = o.stream;
  s._packet.options = [];
  s._packet.confirmable = false;
  s._packet.ack = false;
  s._packet.reset = false;
  delete s._packet.messageId;
  s.statusCode = code;
  s._doSend(Buffer.from(diagnostic));
}
