/**
 * Stateless cookies for HelloVerifyRequest (RFC 6347 §4.2.1): an HMAC over the client's address
 * and its ClientHello under a secret that rotates, so nothing is kept for a source until it has
 * shown it receives at its address. The previous secret stays valid for one period so a cookie
 * issued just before a rotation still works.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const COOKIE_BYTES = 32;

/** Issues and checks cookies. */
export class CookieJar {
  #current = randomBytes(32);
  #previous = randomBytes(32);
  #rotatedAt: number;

  constructor(
    private readonly rotateMs: number,
    private readonly now: () => number,
  ) {
    this.#rotatedAt = now();
  }

  /** The cookie of this source and hello (the hello without its cookie). */
  issue(source: string, cookieless: Buffer): Buffer {
    this.#rotate();
    return mac(this.#current, source, cookieless);
  }

  /** Is this the cookie we would have issued now or one period ago? */
  valid(source: string, cookieless: Buffer, cookie: Buffer): boolean {
    this.#rotate();
    if (cookie.length !== COOKIE_BYTES) return false;
    return (
      timingSafeEqual(cookie, mac(this.#current, source, cookieless)) ||
      timingSafeEqual(cookie, mac(this.#previous, source, cookieless))
    );
  }

  #rotate(): void {
    const t = this.now();
    if (t - this.#rotatedAt < this.rotateMs) return;
    // Two periods or more without traffic: neither secret may live on.
    this.#previous = t - this.#rotatedAt >= 2 * this.rotateMs ? randomBytes(32) : this.#current;
    this.#current = randomBytes(32);
    this.#rotatedAt = t;
  }
}

function mac(secret: Buffer, source: string, hello: Buffer): Buffer {
  return createHmac('sha256', secret).update(source).update('\0').update(hello).digest();
}
