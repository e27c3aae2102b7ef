/**
 * The messages of the certificate handshake (ECDHE_ECDSA, RFC 8422 §5, RFC 5246 §7.4): our
 * Certificate, the ServerKeyExchange with an ephemeral P-256 key signed with ECDSA, the
 * CertificateRequest, and the client's Certificate, ClientKeyExchange and CertificateVerify.
 * Every primitive is node:crypto's (createECDH, sign/verify, X509Certificate).
 */
import { X509Certificate, createECDH, sign, verify, type ECDH, type KeyObject } from 'node:crypto';
import { ECDSA_SHA256, EXT, SECP256R1 } from './constants.js';
import { DecodeError, Reader } from './reader.js';

/** The server's certificate chain (leaf first, DER) and the ECDSA P-256 key of its leaf. */
export interface ServerCredential {
  chain: Buffer[];
  key: KeyObject;
}

/** Certificate (RFC 5246 §7.4.2): certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1>. */
export function encodeCertificate(chain: readonly Buffer[]): Buffer {
  const parts = chain.map((der) => Buffer.concat([u24(der.length), der]));
  const body = Buffer.concat(parts);
  return Buffer.concat([u24(body.length), body]);
}

/** A client's Certificate message: its chain, leaf first (empty: the client has none). */
export function parseCertificate(body: Buffer): Buffer[] {
  const r = new Reader(body);
  const list = new Reader(r.vector(3));
  r.end();
  const out: Buffer[] = [];
  while (list.remaining > 0) {
    out.push(list.vector(3, 1));
    if (out.length > 8) throw new DecodeError('a certificate chain of more than 8 certificates');
  }
  return out;
}

/** A fresh ephemeral P-256 key for one handshake (RFC 8422 §2: ECDHE). */
export function ephemeralKey(): ECDH {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return ecdh;
}

/**
 * ServerKeyExchange for ECDHE_ECDSA (RFC 8422 §5.4): ECParameters (named_curve secp256r1), the
 * uncompressed public point, and a digitally-signed struct — SignatureAndHashAlgorithm
 * ecdsa_secp256r1_sha256, then the DER ECDSA signature over client_random + server_random +
 * params.
 */
export function encodeServerKeyExchange(
  ecdh: ECDH,
  clientRandom: Buffer,
  serverRandom: Buffer,
  key: KeyObject,
): Buffer {
  const point = ecdh.getPublicKey();
  const params = Buffer.concat([
    Buffer.from([3, SECP256R1 >> 8, SECP256R1 & 0xff, point.length]),
    point,
  ]);
  const sig = sign('sha256', Buffer.concat([clientRandom, serverRandom, params]), key);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(ECDSA_SHA256, 0);
  head.writeUInt16BE(sig.length, 2);
  return Buffer.concat([params, head, sig]);
}

/**
 * CertificateRequest (RFC 5246 §7.4.4): certificate_types ecdsa_sign (64), the one signature
 * algorithm we verify, and no certificate_authorities (the client sends the certificate it has;
 * the organization CA check is admission's).
 */
export function encodeCertificateRequest(): Buffer {
  return Buffer.from([1, 64, 0, 2, ECDSA_SHA256 >> 8, ECDSA_SHA256 & 0xff, 0, 0]);
}

/** The premaster secret of an ECDHE ClientKeyExchange (RFC 8422 §5.7, §5.10: the x-coordinate). */
export function ecdhePremaster(ecdh: ECDH, body: Buffer): Buffer {
  const r = new Reader(body);
  const point = r.vector(1, 1, 255);
  r.end();
  // RFC 8422 §5.1.2: uncompressed points only; createECDH checks the point is on the curve.
  if (point.length !== 65 || point[0] !== 4)
    throw new DecodeError('not an uncompressed P-256 point');
  try {
    return ecdh.computeSecret(point);
  } catch {
    throw new DecodeError('the ECDHE point is not on P-256');
  }
}

/** The leaf's public key when it is an ECDSA P-256 key, else a reason. */
export function leafKey(leafDer: Buffer): KeyObject | string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(leafDer);
  } catch {
    return 'the client certificate does not parse';
  }
  const k = cert.publicKey;
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    return 'the client certificate is not for an ECDSA P-256 key';
  return k;
}

/**
 * Does CertificateVerify (RFC 5246 §7.4.8) prove the leaf's key: ecdsa_secp256r1_sha256 over
 * every handshake message before it? A decode error throws.
 */
export function certificateVerifies(body: Buffer, key: KeyObject, transcript: Buffer): boolean {
  const r = new Reader(body);
  const alg = r.u16();
  const sig = r.vector(2, 1);
  r.end();
  if (alg !== ECDSA_SHA256) return false;
  try {
    return verify('sha256', transcript, key, sig);
  } catch {
    return false;
  }
}

/**
 * Can this hello do ECDHE_ECDSA with us (RFC 8422 §5.1): P-256 among its groups (or no
 * supported_groups, which leaves the curve to us), uncompressed points, and ECDSA with SHA-256
 * among its signature algorithms (absent: TLS 1.2's default is SHA-1 — RFC 5246 §7.4.1.4.1 — so
 * we need the extension)?
 */
export function helloFitsEcdsa(ext: Map<number, Buffer>): boolean {
  const groups = ext.get(EXT.supportedGroups);
  if (groups !== undefined && !u16List(groups).includes(SECP256R1)) return false;
  const formats = ext.get(EXT.ecPointFormats);
  if (
    formats !== undefined &&
    !(formats.length >= 2 && formats.subarray(1, 1 + formats[0]!).includes(0))
  )
    return false;
  const sigs = ext.get(EXT.signatureAlgorithms);
  return sigs !== undefined && u16List(sigs).includes(ECDSA_SHA256);
}

function u16List(b: Buffer): number[] {
  try {
    const v = new Reader(b).vector(2);
    const out: number[] = [];
    for (let i = 0; i + 1 < v.length; i += 2) out.push(v.readUInt16BE(i));
    return out;
  } catch {
    return [];
  }
}

function u24(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(n, 0, 3);
  return b;
}
