/** What a ClientHello and this server agree on: the suite (and so PSK or certificates) and extensions. */
import { ALERT, DTLS12, ECDSA_SUITES, EXT, SCSV_RENEGOTIATION, SUITES } from './constants.js';
import { helloFitsEcdsa } from './ecdhe.js';
import { Fatal } from './fatal.js';
import type { ClientHello } from './hello.js';
import { certificateTypes, type CertificateTypes } from './rpk.js';

export { Fatal };

/**
 * The suites this server negotiates (constants.ts): PSK first, as before, then the certificate
 * suites. The client's order decides among them, so the client's offer chooses the mode.
 */
export const OFFERED: readonly number[] = [
  SUITES.pskAes128Ccm8,
  SUITES.pskAes128Ccm,
  SUITES.ecdsaAes128Ccm8,
  SUITES.ecdsaAes128Gcm,
  SUITES.ecdsaAes128Ccm,
];

/**
 * What a ClientHello and this server agree on; throws Fatal when they agree on nothing.
 * `certificates`: the server has a certificate and a way to judge the client's; `rawKeys`: and a
 * way to judge a client's raw public key (RFC 7250).
 */
export function negotiate(
  h: ClientHello,
  certificates: boolean,
  rawKeys = false,
): {
  suite: number;
  renegotiationInfo: boolean;
  extendedMasterSecret: boolean;
  ecPointFormats: boolean;
  /** The certificate types of an ECDHE_ECDSA handshake (RFC 7250), undefined for PSK. */
  types: CertificateTypes | undefined;
} {
  // DTLS versions count down: {254,253} (1.2) is numerically below {254,255} (1.0).
  if (h.version > DTLS12) throw new Fatal(ALERT.protocolVersion, 'the client offers no DTLS 1.2');
  if (!h.compressions.includes(0)) {
    throw new Fatal(ALERT.illegalParameter, 'the client offers no null compression');
  }
  const ecdsa = certificates && helloFitsEcdsa(h.extensions);
  // The client's order decides among the suites we offer (RFC 5246 §7.4.1.3 leaves it to us).
  const suite = h.suites.find((s) => OFFERED.includes(s) && (ecdsa || !ECDSA_SUITES.includes(s)));
  if (suite === undefined) {
    throw new Fatal(
      ALERT.handshakeFailure,
      certificates
        ? 'no common cipher suite (PSK or ECDHE-ECDSA on P-256 with SHA-256, AES-128-CCM[_8]/GCM)'
        : 'no common cipher suite (PSK with AES-128-CCM[_8])',
    );
  }
  const ri = h.extensions.get(EXT.renegotiationInfo);
  if (ri !== undefined && !(ri.length === 1 && ri[0] === 0)) {
    throw new Fatal(ALERT.handshakeFailure, 'renegotiation_info not empty on a first handshake');
  }
  return {
    suite,
    renegotiationInfo: ri !== undefined || h.suites.includes(SCSV_RENEGOTIATION),
    extendedMasterSecret: h.extensions.has(EXT.extendedMasterSecret), // RFC 7627 §5.1
    ecPointFormats: ECDSA_SUITES.includes(suite) && h.extensions.has(EXT.ecPointFormats),
    types: ECDSA_SUITES.includes(suite) ? certificateTypes(h.extensions, rawKeys) : undefined,
  };
}
