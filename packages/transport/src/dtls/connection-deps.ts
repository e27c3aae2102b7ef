/** What one DTLS association (connection.ts) is given by its server: callbacks, judges and limits. */
import type { CertificateVerdict } from './cert-handshake.js';
import type { Connection } from './connection.js';
import type { ServerCredential } from './ecdhe.js';
import type { SessionCache } from './resume.js';

/** Where a datagram came from. */
export interface Peer {
  address: string;
  port: number;
}

/** A key the hub holds for a PSK identity; `ref` names the key's version (a rotation changes it). */
export interface PskEntry {
  key: Buffer;
  ref: string;
}

/** What a connection needs from its server. */
export interface ConnectionDeps {
  send(datagram: Buffer): void;
  psk(identity: string, peer: Peer): Promise<PskEntry | undefined>;
  /** Our certificate and key: without them no certificate suite is negotiated. */
  credential?: ServerCredential;
  /** Decides on a client certificate chain (leaf first) once its key is proven. */
  clientCertificate?(chain: Buffer[], peer: Peer): Promise<CertificateVerdict>;
  /** Decides on a client's raw public key (SPKI, RFC 7250) once proven; absent: no RPK. */
  clientRawKey?(spki: Buffer, peer: Peer): Promise<CertificateVerdict>;
  /** The handshake completed. */
  established(c: Connection): void;
  /** Application data arrived (already authenticated and replay-checked). */
  data(c: Connection, plaintext: Buffer): void;
  /** The association ended; `reason` says why (for logs and counters). */
  closed(c: Connection, reason: string): void;
  maxHandshakeMessageBytes: number;
  now(): number;
  /** Resumable sessions (resume.ts); absent: every handshake is a full one. */
  sessions?: SessionCache;
}
