/**
 * Handshake messages of DTLS (RFC 6347 §4.2.2): a 12-byte header with message_seq and fragment
 * offset/length, several fragments per record, one message in several fragments.
 */
import { HANDSHAKE_HEADER } from './constants.js';
import { DecodeError, Reader } from './reader.js';

/** One handshake fragment as received. */
export interface HandshakeFragment {
  msgType: number;
  length: number;
  messageSeq: number;
  offset: number;
  body: Buffer;
}

/** A whole handshake message. */
export interface HandshakeMessage {
  msgType: number;
  messageSeq: number;
  body: Buffer;
}

/** The fragments of one handshake record; throws DecodeError when one does not fit. */
export function parseFragments(fragment: Buffer): HandshakeFragment[] {
  const r = new Reader(fragment);
  const out: HandshakeFragment[] = [];
  while (r.remaining > 0) {
    const msgType = r.u8();
    const length = r.u24();
    const messageSeq = r.u16();
    const offset = r.u24();
    const fragLength = r.u24();
    if (offset + fragLength > length) throw new DecodeError('fragment beyond message length');
    out.push({ msgType, length, messageSeq, offset, body: r.bytes(fragLength) });
  }
  return out;
}

/** A whole message with its header as the transcript hashes it (offset 0, full length; §4.2.6). */
export function encodeHandshake(msgType: number, messageSeq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(HANDSHAKE_HEADER);
  h[0] = msgType;
  h.writeUIntBE(body.length, 1, 3);
  h.writeUInt16BE(messageSeq, 4);
  h.writeUIntBE(0, 6, 3);
  h.writeUIntBE(body.length, 9, 3);
  return Buffer.concat([h, body]);
}

/**
 * Reassembles the next expected message from fragments (RFC 6347 §4.2.3), bounded in size.
 * Fragments of later messages are dropped: the peer retransmits its whole flight.
 */
export class Reassembler {
  #seq = 0;
  #buf: Buffer | undefined;
  #have: Uint8Array | undefined;
  #type = -1;
  #missing = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** The message_seq expected next. */
  get next(): number {
    return this.#seq;
  }

  /** Starts expecting `seq` (after a stateless cookie exchange the client is already at 1). */
  expect(seq: number): void {
    this.#seq = seq;
    this.#buf = undefined;
    this.#have = undefined;
  }

  /**
   * Adds a fragment; returns the message when it is complete. `old` is set for a fragment of an
   * already processed message (the peer retransmitted: our last flight may have been lost).
   */
  add(f: HandshakeFragment): { message?: HandshakeMessage; old?: boolean } {
    if (f.messageSeq < this.#seq) return { old: true };
    if (f.messageSeq > this.#seq) return {};
    if (f.length > this.maxMessageBytes)
      throw new DecodeError(`handshake message of ${f.length} bytes`);
    if (f.offset === 0 && f.body.length === f.length) {
      this.#seq += 1;
      this.#buf = undefined;
      this.#have = undefined;
      return { message: { msgType: f.msgType, messageSeq: f.messageSeq, body: f.body } };
    }
    if (this.#buf === undefined || this.#type !== f.msgType || this.#buf.length !== f.length) {
      this.#buf = Buffer.alloc(f.length);
      this.#have = new Uint8Array(f.length);
      this.#type = f.msgType;
      this.#missing = f.length;
    }
    f.body.copy(this.#buf, f.offset);
    const have = this.#have!;
    for (let i = f.offset; i < f.offset + f.body.length; i++) {
      if (have[i] === 0) {
        have[i] = 1;
        this.#missing -= 1;
      }
    }
    if (this.#missing > 0) return {};
    const body = this.#buf;
    this.#seq += 1;
    this.#buf = undefined;
    this.#have = undefined;
    return { message: { msgType: f.msgType, messageSeq: f.messageSeq, body } };
  }
}
