/**
 * The certificate side of one handshake (ECDHE_ECDSA, RFC 8422 §2.2, RFC 5246 §7.3): our
 * Certificate, signed ServerKeyExchange and CertificateRequest; the client's Certificate,
 * ClientKeyExchange and CertificateVerify. The Connection owns the transcript and the keys.
 */
import type { KeyObject } from 'node:crypto';
import { ALERT, CERT_TYPE, HT } from './constants.js';
import {
  certificateVerifies,
  ecdhePremaster,
  encodeCertificate,
  encodeCertificateRequest,
  encodeServerKeyExchange,
  ephemeralKey,
  leafKey,
  parseCertificate,
  type ServerCredential,
} from './ecdhe.js';
import { Fatal } from './fatal.js';
import {
  encodeRawKeyCertificate,
  parseRawKeyCertificate,
  spkiOf,
  type CertificateTypes,
} from './rpk.js';

/**
 * What the layer above says of a client certificate whose key the handshake proved: accepted, or
 * refused (`revoked`, `expired`, `unknown`: not this hub's / not a device's, `denied`: the
 * device may not connect). The layer above reports its own refusals (admission).
 */
export type CertificateVerdict =
  | { ok: true }
  | { ok: false; refusal: 'revoked' | 'expired' | 'unknown' | 'denied'; reason: string };

/** The alert each refusal ends the handshake with (RFC 5246 §7.2.2). */
export const REFUSAL_ALERT = {
  revoked: ALERT.certificateRevoked,
  expired: ALERT.certificateExpired,
  unknown: ALERT.badCertificate,
  denied: ALERT.accessDenied,
} as const;

/** One handshake's certificate exchange. */
export class CertificateHandshake {
  /** The client's chain (leaf first), once its Certificate message came (X.509). */
  chain: Buffer[] | undefined;
  /** The client's SubjectPublicKeyInfo (DER), once its Certificate message came (RFC 7250). */
  rawKey: Buffer | undefined;
  /** The client's CertificateVerify did not verify under its certificate's key. */
  unproven = false;
  /** A fresh ephemeral P-256 key for this handshake (RFC 8422 §2: ECDHE). */
  readonly #ecdh = ephemeralKey();
  #clientKey: KeyObject | undefined;

  constructor(
    private readonly credential: ServerCredential,
    private readonly types: CertificateTypes,
  ) {}

  /** Our messages between ServerHello and ServerHelloDone, as [type, body]. */
  serverMessages(clientRandom: Buffer, serverRandom: Buffer): [number, Buffer][] {
    const ske = encodeServerKeyExchange(
      this.#ecdh,
      clientRandom,
      serverRandom,
      this.credential.key,
    );
    return [
      [
        HT.certificate,
        this.types.server === CERT_TYPE.rawPublicKey
          ? encodeRawKeyCertificate(spkiOf(this.credential.key)) // RFC 7250 §3
          : encodeCertificate(this.credential.chain),
      ],
      [HT.serverKeyExchange, ske],
      [HT.certificateRequest, encodeCertificateRequest()],
    ];
  }

  /** The client's Certificate (RFC 5246 §7.4.6): a device must send one, for an ECDSA P-256 key. */
  clientCertificate(body: Buffer): void {
    if (this.types.client === CERT_TYPE.rawPublicKey) {
      const raw = parseRawKeyCertificate(body);
      this.rawKey = raw.spki;
      this.#clientKey = raw.key;
      return;
    }
    const chain = parseCertificate(body);
    if (chain.length === 0)
      throw new Fatal(ALERT.handshakeFailure, 'the client sent no certificate');
    this.chain = chain;
    const key = leafKey(chain[0]!);
    if (typeof key === 'string') throw new Fatal(ALERT.unsupportedCertificate, key);
    this.#clientKey = key;
  }

  /** The premaster secret of the ECDHE ClientKeyExchange (RFC 8422 §5.7). */
  premaster(body: Buffer): Buffer {
    try {
      return ecdhePremaster(this.#ecdh, body);
    } catch (err) {
      throw new Fatal(ALERT.illegalParameter, (err as Error).message);
    }
  }

  /** CertificateVerify (RFC 5246 §7.4.8) over every handshake message before it. */
  verify(body: Buffer, transcript: Buffer): void {
    if (!certificateVerifies(body, this.#clientKey!, transcript)) {
      this.unproven = true;
      throw new Fatal(ALERT.decryptError, 'the CertificateVerify does not verify');
    }
  }
}
