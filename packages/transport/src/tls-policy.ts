/**
 * The TLS settings of every server the hub runs: HTTPS (REST, console, DDI, MQTT over WebSocket
 * share it) and MQTT over TLS. One constant, so no listener drifts from the others.
 */
import { constants } from 'node:crypto';
import { TLS12_AEAD_CIPHERS } from '@bulwark/protocol';

/** Spread into `tls.createServer` / `https` options. */
export const TLS_SERVER_POLICY = Object.freeze({
  minVersion: 'TLSv1.2' as const,
  ciphers: TLS12_AEAD_CIPHERS,
  honorCipherOrder: true,
  // Renegotiation is refused outright (a no_renegotiation alert): nothing here needs it, and a
  // client-initiated one costs the server a full handshake each time (CVE-2011-1473 style DoS).
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
});
