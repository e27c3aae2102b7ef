/**
 * A structural check of a raw datagram before node-coap parses it (RFC 7252 §3), so that format
 * errors get the RFC's answer — Reset for a Confirmable message (§4.2), silence otherwise (§4.3) —
 * instead of node-coap's Non-confirmable 5.00 sent to the wrong address.
 */

/** Message types (RFC 7252 §3). */
export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

/** What to do with a datagram before it reaches node-coap. */
export type Verdict =
  | { action: 'pass' }
  | { action: 'drop' }
  /** Answer with an empty Reset carrying this Message ID. */
  | { action: 'reset'; messageId: number };

/** Decides how a datagram is handled; never throws. */
export function checkDatagram(b: Buffer): Verdict {
  if (b.length < 4) return { action: 'drop' }; // too short to carry a Message ID
  const version = b[0]! >> 6;
  if (version !== 1) return { action: 'drop' }; // RFC 7252 §3: unknown versions are silently ignored
  const type = (b[0]! >> 4) & 3;
  const tkl = b[0]! & 15;
  const code = b[1]!;
  const messageId = b.readUInt16BE(2);
  const reject: Verdict = type === CON ? { action: 'reset', messageId } : { action: 'drop' };
  if (code === 0) {
    // RFC 7252 §4.1: an Empty message has TKL 0 and nothing after the header.
    if (tkl !== 0 || b.length !== 4) return reject;
    if (type === CON) return { action: 'reset', messageId }; // RFC 7252 §4.3: CoAP ping
    return type === NON ? { action: 'drop' } : { action: 'pass' }; // ACK/RST feed retransmission state
  }
  if (tkl > 8) return reject; // RFC 7252 §3: lengths 9–15 are a message format error
  const cls = code >> 5;
  if (type === ACK || type === RST) {
    // RFC 7252 §4.2: an ACK carries a response; RST is always empty. We send no requests, so
    // responses are ACK-piggybacked answers to nothing: node-coap ignores them.
    return type === RST ? { action: 'drop' } : walkOptions(b, 4 + tkl, { action: 'drop' });
  }
  if (cls !== 0) return reject; // a response (or reserved class 1, 6, 7) where we expect requests
  return walkOptions(b, 4 + tkl, reject);
}

// RFC 7252 §3.1: option delta/length nibbles 13 and 14 extend, 15 is reserved (payload marker only).
function walkOptions(b: Buffer, start: number, reject: Verdict): Verdict {
  let i = start;
  if (i > b.length) return reject;
  while (i < b.length) {
    const head = b[i]!;
    if (head === 0xff) {
      // RFC 7252 §3: a payload marker followed by a zero-length payload is a format error.
      return i + 1 < b.length ? { action: 'pass' } : reject;
    }
    i += 1;
    const ext = (nibble: number): number | undefined => {
      if (nibble < 13) return nibble;
      if (nibble === 13) return i < b.length ? b[i++]! + 13 : undefined;
      if (nibble === 14) {
        if (i + 1 >= b.length) return undefined;
        const v = b.readUInt16BE(i) + 269;
        i += 2;
        return v;
      }
      return undefined;
    };
    const delta = ext(head >> 4);
    const len = ext(head & 15);
    if (delta === undefined || len === undefined || i + len > b.length) return reject;
    i += len;
  }
  return { action: 'pass' };
}

/** An empty Reset message for a Message ID (RFC 7252 §4.2). */
export function encodeReset(messageId: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = 0x70; // version 1, type RST, TKL 0
  b[1] = 0; // code 0.00
  b.writeUInt16BE(messageId, 2);
  return b;
}
