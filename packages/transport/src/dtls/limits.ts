/** The bounds of the DTLS endpoint: what a flood of hellos or handshakes may cost at most. */

/** Every bound of the DTLS server, with why it is where it is. */
export interface DtlsLimits {
  /** Handshakes past the cookie exchange at once, all sources (each ~2 KB until it ends). */
  maxHandshakes: number;
  /** Handshakes at once from one IP address (a NAT puts several devices behind one). */
  maxHandshakesPerAddress: number;
  /** Established associations (each ~1 KB plus the CoAP state above it). */
  maxSessions: number;
  /** Established associations from one IP address. */
  maxSessionsPerAddress: number;
  /** A handshake not finished in this time is dropped (RFC 6347 §4.2.4.1 gives up after ~60 s). */
  handshakeTimeoutMs: number;
  /** An association without a record from the peer this long is dropped (sleepy devices re-handshake). */
  sessionIdleMs: number;
  /** How long a cookie secret is used (RFC 6347 §4.2.1: "change the secret value frequently"). */
  cookieRotateMs: number;
  /** Largest handshake message reassembled (a PSK ClientHello is a few hundred bytes). */
  maxHandshakeMessageBytes: number;
  /** Datagrams queued for one association while its PSK lookup runs. */
  maxQueuedPerSession: number;
  /** Sessions kept for resumption (RFC 5246 §7.3; ~0.2 KB, a certificate's more; 0: none). */
  sessionCacheMax: number;
  /** How long after its full handshake a session may be resumed (the master secret's life). */
  sessionLifetimeMs: number;
}

/** The defaults: sized for one hub on a small machine. */
export const DEFAULT_DTLS_LIMITS: Readonly<DtlsLimits> = Object.freeze({
  maxHandshakes: 512,
  maxHandshakesPerAddress: 8,
  maxSessions: 20_000,
  maxSessionsPerAddress: 1_000,
  handshakeTimeoutMs: 30_000,
  sessionIdleMs: 3_600_000,
  cookieRotateMs: 60_000,
  maxHandshakeMessageBytes: 4096,
  maxQueuedPerSession: 8,
  sessionCacheMax: 10_000,
  sessionLifetimeMs: 3_600_000,
});
