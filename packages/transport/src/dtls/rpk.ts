/**
 * Raw public keys (RFC 7250): the `client_certificate_type` and `server_certificate_type`
 * extensions, and a Certificate message that carries one SubjectPublicKeyInfo instead of a chain.
 * A client key must be ECDSA P-256 (the suites are ECDHE_ECDSA, RFC 7252 §9.1.3.2).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ALERT, CERT_TYPE, EXT } from './constants.js';
import { Fatal } from './fatal.js';
import { DecodeError, Reader } from './reader.js';

/** The certificate types one handshake uses, and which of them the ServerHello answers. */
export interface CertificateTypes {
  client: number;
  server: number;
  /** The client sent the extension, so the ServerHello names the type chosen (RFC 7250 §4). */
  echoClient: boolean;
  echoServer: boolean;
}

/**
 * The types of a hello (RFC 7250 §4): absent extension → X.509; else the first of the client's
 * list this server takes (RawPublicKey for the client only when `clientRpk`); for our side a raw
 * key whenever the client sends one and takes one. No common type → unsupported_certificate.
 */
export function certificateTypes(ext: Map<number, Buffer>, clientRpk: boolean): CertificateTypes {
  const pick = (type: number, ours: number[], prefer?: number): [number, boolean] => {
    const data = ext.get(type);
    if (data === undefined) return [CERT_TYPE.x509, false];
    let list: Buffer;
    try {
      const r = new Reader(data);
      list = r.vector(1, 1, 255);
      r.end();
    } catch {
      throw new Fatal(ALERT.decodeError, `certificate type extension ${type} does not decode`);
    }
    const chosen =
      prefer !== undefined && list.includes(prefer)
        ? prefer
        : [...list].find((t) => ours.includes(t));
    if (chosen === undefined)
      throw new Fatal(ALERT.unsupportedCertificate, 'no certificate type in common (X.509, RPK)');
    return [chosen, true];
  };
  const both = [CERT_TYPE.x509, CERT_TYPE.rawPublicKey];
  const [client, echoClient] = pick(EXT.clientCertificateType, clientRpk ? both : [CERT_TYPE.x509]);
  // A client that authenticates with a raw key has no PKI to check our certificate against
  // (GnuTLS lists X.509 first all the same): it gets our raw key when it takes one.
  const [server, echoServer] = pick(
    EXT.serverCertificateType,
    both,
    client === CERT_TYPE.rawPublicKey ? CERT_TYPE.rawPublicKey : undefined,
  );
  return { client, server, echoClient, echoServer };
}

/** The ServerHello's answers (RFC 7250 §3: one CertificateType each). */
export function encodeCertificateTypeExtensions(t: CertificateTypes | undefined): Buffer[] {
  if (t === undefined) return [];
  const ext = (type: number, value: number) => Buffer.from([type >> 8, type & 0xff, 0, 1, value]);
  const out: Buffer[] = [];
  if (t.echoClient) out.push(ext(EXT.clientCertificateType, t.client));
  if (t.echoServer) out.push(ext(EXT.serverCertificateType, t.server));
  return out;
}

/** A Certificate message of RawPublicKey type (RFC 7250 §3): one SubjectPublicKeyInfo. */
export function encodeRawKeyCertificate(spki: Buffer): Buffer {
  const len = Buffer.alloc(3);
  len.writeUIntBE(spki.length, 0, 3);
  return Buffer.concat([len, spki]);
}

/** The client's raw key: its SPKI (DER) and key; an empty or non-P-256 key is refused. */
export function parseRawKeyCertificate(body: Buffer): { spki: Buffer; key: KeyObject } {
  const r = new Reader(body);
  const spki = r.vector(3, 0, 1024);
  r.end();
  if (spki.length === 0) throw new Fatal(ALERT.handshakeFailure, 'the client sent no public key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw new DecodeError('the raw public key is not a SubjectPublicKeyInfo');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Fatal(ALERT.unsupportedCertificate, 'the raw public key is not ECDSA P-256');
  return { spki, key };
}

/** The SubjectPublicKeyInfo (DER) of a private or public key. */
export function spkiOf(key: KeyObject): Buffer {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ format: 'der', type: 'spki' });
}
