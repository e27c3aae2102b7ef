/**
 * The handshake transcript (RFC 5246 §7.4.9): every handshake message of this handshake, in
 * order and in its DTLS encoding, hashed for the Finished and the extended master secret.
 */
import { createHash } from 'node:crypto';

/** The handshake messages so far. */
export class Transcript {
  readonly #msgs: Buffer[] = [];

  push(...msgs: Buffer[]): void {
    this.#msgs.push(...msgs);
  }

  /** The messages concatenated (what a CertificateVerify signs, RFC 5246 §7.4.8). */
  bytes(): Buffer {
    return Buffer.concat(this.#msgs);
  }

  /** The SHA-256 hash of the messages so far. */
  hash(): Buffer {
    const h = createHash('sha256');
    for (const m of this.#msgs) h.update(m);
    return h.digest();
  }

  /** Forgets the messages (the handshake ended). */
  clear(): void {
    this.#msgs.length = 0;
  }
}
