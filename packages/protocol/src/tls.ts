/**
 * The TLS cipher policy every Bulwark TLS server applies (DESIGN.md §4: "TLS 1.2 minimum (1.3
 * preferred), no weak suites"). It lives here because both the hub (transport) and the agent (its
 * local port) need it and the agent cannot import transport; each deployable applies it once.
 */

/**
 * TLS 1.2 suites offered: ECDHE key exchange (forward secrecy) with an AEAD cipher only — AES-GCM
 * or ChaCha20-Poly1305 (RFC 5289, RFC 7905). No CBC suites (padding-oracle and Lucky13 history),
 * no CCM8 (a 64-bit tag), no static-RSA key exchange. TLS 1.3's suites (RFC 8446 §9.1) are all
 * AEAD; Node keeps its defaults for them when this list names none.
 */
export const TLS12_AEAD_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
