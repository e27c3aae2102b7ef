/** ClientHello (RFC 6347 §4.2.1, RFC 5246 §7.4.1.2) and the server's hello messages. */
import { DTLS10, DTLS12, EXT } from './constants.js';
import { DecodeError, Reader } from './reader.js';
import { encodeCertificateTypeExtensions, type CertificateTypes } from './rpk.js';

/** A parsed ClientHello; `cookieless` is the message without its cookie (what the cookie covers). */
export interface ClientHello {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cookie: Buffer;
  suites: number[];
  compressions: Buffer;
  /** Extension type → data; a repeated type is a decode error (RFC 5246 §7.4.1.4). */
  extensions: Map<number, Buffer>;
  cookieless: Buffer;
}

/** Parses a ClientHello body; throws DecodeError. */
export function parseClientHello(body: Buffer): ClientHello {
  const r = new Reader(body);
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vector(1, 0, 32);
  const cookieStart = 2 + 32 + 1 + sessionId.length;
  const cookie = r.vector(1, 0, 255);
  const cookieEnd = cookieStart + 1 + cookie.length;
  const suiteBytes = r.vector(2, 2, 0xfffe);
  if (suiteBytes.length % 2 !== 0) throw new DecodeError('odd cipher_suites length');
  const suites: number[] = [];
  for (let i = 0; i < suiteBytes.length; i += 2) suites.push(suiteBytes.readUInt16BE(i));
  const compressions = r.vector(1, 1, 255);
  const extensions = new Map<number, Buffer>();
  if (r.remaining > 0) {
    const er = new Reader(r.vector(2));
    while (er.remaining > 0) {
      const type = er.u16();
      const data = er.vector(2);
      if (extensions.has(type)) throw new DecodeError(`extension ${type} repeated`);
      extensions.set(type, data);
    }
  }
  r.end();
  const cookieless = Buffer.concat([body.subarray(0, cookieStart), body.subarray(cookieEnd)]);
  return { version, random, sessionId, cookie, suites, compressions, extensions, cookieless };
}

/**
 * HelloVerifyRequest (RFC 6347 §4.2.1): server_version DTLS 1.0 whatever is negotiated later
 * ("DTLS 1.2 server implementations SHOULD use DTLS version 1.0 regardless"), and the cookie.
 */
export function encodeHelloVerifyRequest(cookie: Buffer): Buffer {
  const b = Buffer.alloc(3 + cookie.length);
  b.writeUInt16BE(DTLS10, 0);
  b[2] = cookie.length;
  cookie.copy(b, 3);
  return b;
}

/** ServerHello with its session id (none: the session cannot be resumed) and our extensions. */
export function encodeServerHello(
  random: Buffer,
  suite: number,
  ext: {
    renegotiationInfo: boolean;
    extendedMasterSecret: boolean;
    ecPointFormats?: boolean;
    types?: CertificateTypes | undefined;
  },
  sessionId: Buffer = Buffer.alloc(0),
): Buffer {
  const exts: Buffer[] = [];
  // RFC 5746 §3.6: an empty renegotiation_info tells the client we do no insecure renegotiation.
  if (ext.renegotiationInfo) exts.push(Buffer.from([0xff, 0x01, 0x00, 0x01, 0x00]));
  if (ext.extendedMasterSecret) {
    exts.push(Buffer.from([EXT.extendedMasterSecret >> 8, EXT.extendedMasterSecret & 0xff, 0, 0]));
  }
  // RFC 8422 §5.2: answering an ECC hello's ec_point_formats with the one we use, uncompressed.
  if (ext.ecPointFormats)
    exts.push(Buffer.from([0x00, EXT.ecPointFormats, 0x00, 0x02, 0x01, 0x00]));
  exts.push(...encodeCertificateTypeExtensions(ext.types)); // RFC 7250 §4
  const extBlock = Buffer.concat(exts);
  const sid = sessionId.length;
  const head = Buffer.alloc(2 + 32 + 1 + sid + 2 + 1);
  head.writeUInt16BE(DTLS12, 0);
  random.copy(head, 2);
  head[34] = sid; // RFC 5246 §7.4.1.3: empty when the session cannot be resumed
  sessionId.copy(head, 35);
  head.writeUInt16BE(suite, 35 + sid);
  head[37 + sid] = 0; // compression: null
  if (extBlock.length === 0) return head;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(extBlock.length, 0);
  return Buffer.concat([head, len, extBlock]);
}

/** The psk_identity of a PSK ClientKeyExchange (RFC 4279 §2); throws DecodeError. */
export function parsePskClientKeyExchange(body: Buffer): Buffer {
  const r = new Reader(body);
  // RFC 4279 §5.3: an identity is at most 128 bytes.
  const identity = r.vector(2, 0, 128);
  r.end();
  return identity;
}
