/**
 * Wire constants of DTLS 1.2 (RFC 6347), TLS 1.2 (RFC 5246), the PSK suites (RFC 4279, RFC 6655)
 * and the ECDHE-ECDSA suites (RFC 8422, RFC 7251, RFC 5289).
 */

/** ContentType (RFC 5246 §6.2.1). */
export const CT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

/** HandshakeType (RFC 5246 §7.4, RFC 6347 §4.3.2). */
export const HT = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
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
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateRevoked: 44,
  certificateExpired: 45,
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
  /** TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (RFC 7251 §2): CoAP's certificate suite (RFC 7252 §9.1.3.3). */
  ecdsaAes128Ccm8: 0xc0ae,
  /** TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 5289 §3). */
  ecdsaAes128Gcm: 0xc02b,
  /** TLS_ECDHE_ECDSA_WITH_AES_128_CCM (RFC 7251 §2). */
  ecdsaAes128Ccm: 0xc0ac,
} as const;

/** The suites authenticated with certificates (ECDHE key exchange, ECDSA signatures). */
export const ECDSA_SUITES: readonly number[] = [
  SUITES.ecdsaAes128Ccm8,
  SUITES.ecdsaAes128Gcm,
  SUITES.ecdsaAes128Ccm,
];

/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3). */
export const SCSV_RENEGOTIATION = 0x00ff;

/** Extension types we answer (RFC 5746, RFC 7627); every other extension is ignored. */
export const EXT = {
  renegotiationInfo: 0xff01,
  extendedMasterSecret: 0x0017,
  supportedGroups: 0x000a,
  ecPointFormats: 0x000b,
  signatureAlgorithms: 0x000d,
  /** RFC 7250 §3: the certificate types the client can send / take. */
  clientCertificateType: 0x0013,
  serverCertificateType: 0x0014,
} as const;

/** CertificateType (RFC 7250 §3, IANA "TLS Certificate Types"): X.509 and RawPublicKey. */
export const CERT_TYPE = { x509: 0, rawPublicKey: 2 } as const;

/** secp256r1 in supported_groups (RFC 8422 §5.1.1), the only group we do ECDHE on. */
export const SECP256R1 = 23;
/** ecdsa_secp256r1_sha256 in signature_algorithms (RFC 5246 §7.4.1.4.1: hash sha256, sig ecdsa). */
export const ECDSA_SHA256 = 0x0403;

/** Authentication tag length of a suite (8 for the _8 variants, 16 otherwise). */
export function tagLengthOf(suite: number): 8 | 16 {
  return suite === SUITES.pskAes128Ccm8 || suite === SUITES.ecdsaAes128Ccm8 ? 8 : 16;
}

/** The record AEAD of a suite. */
export function aeadOf(suite: number): 'aes-128-ccm' | 'aes-128-gcm' {
  return suite === SUITES.ecdsaAes128Gcm ? 'aes-128-gcm' : 'aes-128-ccm';
}

/** The record header: type(1) version(2) epoch(2) sequence_number(6) length(2). */
export const RECORD_HEADER = 13;
/** The handshake header: type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3). */
export const HANDSHAKE_HEADER = 12;
