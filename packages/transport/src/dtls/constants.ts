/** Wire constants of DTLS 1.2 (RFC 6347), TLS 1.2 (RFC 5246) and the PSK suites (RFC 4279, RFC 6655). */

/** ContentType (RFC 5246 §6.2.1). */
export const CT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

/** HandshakeType (RFC 5246 §7.4, RFC 6347 §4.3.2). */
export const HT = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  serverKeyExchange: 12,
  serverHelloDone: 14,
  clientKeyExchange: 16,
  finished: 20,
} as const;

/** ProtocolVersion on the wire: DTLS 1.2 is {254, 253}, DTLS 1.0 {254, 255} (RFC 6347 §4.1). */
export const DTLS12 = 0xfefd;
export const DTLS10 = 0xfeff;

/** AlertLevel (RFC 5246 §7.2). */
export const LEVEL = { warning: 1, fatal: 2 } as const;

/** AlertDescription (RFC 5246 §7.2, RFC 4279 §2 for unknown_psk_identity). */
export const ALERT = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  recordOverflow: 22,
  handshakeFailure: 40,
  illegalParameter: 47,
  accessDenied: 49,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  noRenegotiation: 100,
  unknownPskIdentity: 115,
} as const;

/** The cipher suites offered, in the server's order of preference. */
export const SUITES = {
  /** TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655 §4): the suite of CoAP (RFC 7252 §9.1.3.1). */
  pskAes128Ccm8: 0xc0a8,
  /** TLS_PSK_WITH_AES_128_CCM (RFC 6655 §4). */
  pskAes128Ccm: 0xc0a4,
} as const;

/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3). */
export const SCSV_RENEGOTIATION = 0x00ff;

/** Extension types we answer (RFC 5746, RFC 7627); every other extension is ignored. */
export const EXT = { renegotiationInfo: 0xff01, extendedMasterSecret: 0x0017 } as const;

/** Authentication tag length of a suite (8 for the _8 variant, 16 otherwise). */
export function tagLengthOf(suite: number): 8 | 16 {
  return suite === SUITES.pskAes128Ccm8 ? 8 : 16;
}

/** The record header: type(1) version(2) epoch(2) sequence_number(6) length(2). */
export const RECORD_HEADER = 13;
/** The handshake header: type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3). */
export const HANDSHAKE_HEADER = 12;
