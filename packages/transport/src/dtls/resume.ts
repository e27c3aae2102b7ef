/**
 * Session resumption by session id (RFC 5246 §7.3 / RFC 6347, decision 0041 2026-12-07): a
 * server-side cache of the master secrets of sessions that ended their full handshake with
 * extended master secret (RFC 7627), bounded in entries (least recently used goes first) and in
 * lifetime (counted from the full handshake, never renewed by resuming). An entry keeps the
 * credential the full handshake proved, so that a resumption is judged again on it (resumable()
 * below, called by connection.ts): the cache only saves the key exchange, never the admission.
 */
import { REFUSAL_ALERT, type CertificateVerdict } from './cert-handshake.js';
import type { Peer, PskEntry } from './connection-deps.js';
import { ALERT, ECDSA_SUITES } from './constants.js';
import type { ServerCredential } from './ecdhe.js';
import { Fatal } from './fatal.js';
import type { ClientHello } from './hello.js';

/** What a resumed session takes over from the full handshake that made it. */
export interface ResumableSession {
  master: Buffer;
  suite: number;
  /** The PSK identity and its key's version ('' for a certificate or raw key). */
  identity: string;
  pskRef: string;
  certificate: Buffer[] | undefined;
  rawPublicKey: Buffer | undefined;
  /** When the full handshake ended (the lifetime counts from here). */
  createdAt: number;
}

/** The session cache: LRU, at most `max` entries, each for `lifetimeMs` (0 entries: none). */
export class SessionCache {
  readonly #m = new Map<string, ResumableSession>();

  constructor(
    readonly max: number,
    readonly lifetimeMs: number,
    readonly now: () => number,
  ) {}

  get enabled(): boolean {
    return this.max > 0 && this.lifetimeMs > 0;
  }

  get size(): number {
    return this.#m.size;
  }

  /** Keeps a session under its id, evicting the least recently used past `max`. */
  put(id: Buffer, s: ResumableSession): void {
    if (!this.enabled || id.length === 0) return;
    const key = id.toString('hex');
    this.#m.delete(key);
    this.#m.set(key, s);
    while (this.#m.size > this.max) this.#m.delete(this.#m.keys().next().value!);
  }

  /** The live session of an id (it becomes the most recently used), or undefined. */
  get(id: Buffer): ResumableSession | undefined {
    const key = id.toString('hex');
    const s = this.#m.get(key);
    if (s === undefined) return undefined;
    this.#m.delete(key);
    if (this.now() - s.createdAt >= this.lifetimeMs) return undefined;
    this.#m.set(key, s);
    return s;
  }

  delete(id: Buffer): void {
    this.#m.delete(id.toString('hex'));
  }

  /** Forgets the sessions matching (a credential withdrawn); returns how many. */
  forget(match: (s: ResumableSession) => boolean): number {
    let n = 0;
    for (const [k, s] of this.#m) {
      if (!match(s)) continue;
      this.#m.delete(k);
      n++;
    }
    return n;
  }
}

/** The judges a resumption is put before again (connection.ts ConnectionDeps). */
export interface ResumeJudges {
  psk(identity: string, peer: Peer): Promise<PskEntry | undefined>;
  clientCertificate?(chain: Buffer[], peer: Peer): Promise<CertificateVerdict>;
  clientRawKey?(spki: Buffer, peer: Peer): Promise<CertificateVerdict>;
}

/**
 * Whether a cached session may be resumed: its credential is judged again as a full handshake
 * would judge it. A PSK whose key changed (another ref) or went away gives false (the client gets
 * a full handshake, which its old key cannot finish); a certificate or raw key the judge now
 * refuses throws Fatal with the judge's alert (the judge reported the refusal, as it does for a
 * full handshake). Certificates no longer accepted at all: false.
 */
export async function stillAdmitted(
  s: ResumableSession,
  d: ResumeJudges,
  peer: Peer,
): Promise<boolean> {
  let verdict: CertificateVerdict;
  if (s.rawPublicKey !== undefined) {
    if (d.clientRawKey === undefined) return false;
    verdict = await d.clientRawKey(s.rawPublicKey, peer);
  } else if (s.certificate !== undefined) {
    if (d.clientCertificate === undefined) return false;
    verdict = await d.clientCertificate(s.certificate, peer);
  } else {
    const entry = await d.psk(s.identity, peer);
    return entry !== undefined && entry.ref === s.pskRef;
  }
  if (!verdict.ok) throw new Fatal(REFUSAL_ALERT[verdict.refusal], verdict.reason);
  return true;
}

/** What judging a resumption needs from the connection (connection.ts ConnectionDeps). */
export interface ResumeDeps extends ResumeJudges {
  credential?: ServerCredential;
  sessions?: SessionCache;
}

/**
 * Whether the cached session the ClientHello names may be resumed (throws Fatal: refused).
 * `ems`: the ClientHello offered extended master secret.
 */
export async function resumable(
  h: ClientHello,
  s: ResumableSession,
  ems: boolean,
  d: ResumeDeps,
  peer: Peer,
): Promise<boolean> {
  // RFC 5246 §7.4.1.2: the client offers the session's suite; we negotiate it no longer: full.
  if (!h.suites.includes(s.suite)) return false;
  if (ECDSA_SUITES.includes(s.suite) && d.credential === undefined) return false;
  // RFC 7627 §5.3: an extended-master-secret session resumed without it: abort.
  if (!ems) {
    throw new Fatal(ALERT.handshakeFailure, 'resuming without extended master secret');
  }
  const ok = await stillAdmitted(s, d, peer).catch((err: unknown) => {
    d.sessions!.delete(h.sessionId);
    throw err;
  });
  if (!ok) d.sessions!.delete(h.sessionId);
  return ok;
}
