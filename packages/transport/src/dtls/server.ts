/**
 * A DTLS 1.2 server on one UDP socket (decision 0041): demultiplexes datagrams by source address,
 * answers ClientHellos statelessly with a HelloVerifyRequest until a valid cookie shows the
 * source receives at its address (RFC 6347 §4.2.1), then keeps bounded per-peer state
 * (connection.ts). Application data comes out decrypted with the peer's PSK identity.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { ALERT, CT, DTLS10, DTLS12, HT, LEVEL, RECORD_HEADER } from './constants.js';
import { CookieJar } from './cookie.js';
import { Connection, type CertificateVerdict, type Peer, type PskEntry } from './connection.js';
import type { ServerCredential } from './ecdhe.js';
import { Fatal, negotiate } from './negotiate.js';
import { encodeHandshake, parseFragments } from './handshake.js';
import { encodeHelloVerifyRequest, parseClientHello, type ClientHello } from './hello.js';
import { DEFAULT_DTLS_LIMITS, type DtlsLimits } from './limits.js';
import { encodeRecord, parseRecords, type DtlsRecord } from './record.js';
import { SessionCache } from './resume.js';

/** Where the server reports what an operator should see. */
export interface DtlsLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Options of startDtlsServer. */
export interface DtlsServerOptions {
  port: number;
  host: string;
  /** The key of a PSK identity, or undefined for an unknown one (answered unknown_psk_identity). */
  psk(identity: string, peer: Peer): Promise<PskEntry | undefined>;
  /** Decrypted application data of an established association. */
  onData(session: DtlsSession, data: Buffer): void;
  /** An association ended (close_notify, alert, idle, limit, server close). */
  onClose?(session: DtlsSession, reason: string): void;
  /**
   * How long a source must wait before a ClientHello of it is looked at (0: now). Asked for every
   * ClientHello before the cookie, so a throttled source costs one lookup and no answer.
   */
  retryAfterMs?(address: string): number;
  /** A handshake failed on the credential: an unknown PSK identity or the wrong key. */
  onAuthFailure?(f: DtlsAuthFailure): void;
  /**
   * Certificate authentication (ECDHE_ECDSA suites): our chain and ECDSA P-256 key, and the judge
   * of a client's chain once its CertificateVerify proved the key (it reports its own refusals).
   * Without it only the PSK suites are negotiated.
   */
  certificates?: {
    credential: ServerCredential;
    verify(chain: Buffer[], peer: Peer): Promise<CertificateVerdict>;
    /**
     * The judge of a client's raw public key (RFC 7250; SPKI, DER) once its CertificateVerify
     * proved it; without it a client may not send a raw key (a server raw key is still served).
     */
    verifyRawKey?(spki: Buffer, peer: Peer): Promise<CertificateVerdict>;
  };
  limits?: Partial<DtlsLimits>;
  log?: DtlsLogger;
  now?: () => number;
}

/** A handshake that failed on its credential, as the layer above is told of it. */
export interface DtlsAuthFailure {
  peer: Peer;
  /** The PSK identity the client named ('' for a certificate). */
  identity: string;
  /** The client's certificate (leaf, DER) when it authenticated with one. */
  certificate?: Buffer;
  /** The client's raw public key (SPKI, DER) when it authenticated with one (RFC 7250). */
  rawPublicKey?: Buffer;
  /**
   * `unknown`: no such identity; `wrong_key`: its Finished did not verify under the key (PSK), or
   * its CertificateVerify did not verify under its certificate's key.
   */
  reason: 'unknown' | 'wrong_key';
}

/** An established association as the layer above sees it. */
export interface DtlsSession {
  readonly peer: Peer;
  /** The PSK identity the peer proved it holds the key of ('' for a certificate session). */
  readonly identity: string;
  /** The version of that key at the handshake (a new key makes it stale). */
  readonly pskRef: string;
  /** The client's certificate chain (leaf first, DER) of a certificate session. */
  readonly certificate: Buffer[] | undefined;
  /** The client's raw public key (SPKI, DER) of a raw-key session (RFC 7250). */
  readonly rawPublicKey: Buffer | undefined;
}

/** Counters for metrics and tests. */
export interface DtlsStats {
  handshakes: number;
  sessions: number;
  helloVerifyRequests: number;
  handshakesRefused: number;
  handshakesCompleted: number;
  /** Of the completed: abbreviated handshakes resuming a cached session (RFC 5246 §7.3). */
  handshakesResumed: number;
  handshakesFailed: number;
  /** ClientHellos dropped because their source failed too often (retryAfterMs). */
  handshakesThrottled: number;
}

/** A running DTLS server. */
export interface DtlsServer {
  readonly port: number;
  readonly address: string;
  /** The association of a peer, when established. */
  session(peer: Peer): DtlsSession | undefined;
  /** Encrypts and sends application data to an established peer; false when there is none. */
  send(peer: Peer, data: Buffer): boolean;
  /** Ends the associations matching (close_notify); returns how many. */
  closeSessions(match: (s: DtlsSession) => boolean, reason: string): number;
  stats(): DtlsStats;
  close(): Promise<void>;
}

const keyOf = (p: Peer): string => `${p.address}|${p.port}`;

/** Starts a DTLS server on UDP. */
export async function startDtlsServer(opts: DtlsServerOptions): Promise<DtlsServer> {
  const limits: DtlsLimits = { ...DEFAULT_DTLS_LIMITS, ...opts.limits };
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const sock: Socket = createSocket({ type: isIPv6(opts.host) ? 'udp6' : 'udp4' });
  const cookies = new CookieJar(limits.cookieRotateMs, now);
  const sessions = new SessionCache(limits.sessionCacheMax, limits.sessionLifetimeMs, now);
  const conns = new Map<string, Connection>();
  const queued = new Map<Connection, number>();
  const chains = new Map<Connection, Promise<void>>();
  /** Handshakes and sessions per IP address. */
  const perAddress = { handshakes: new Map<string, number>(), sessions: new Map<string, number>() };
  const stats = {
    handshakes: 0,
    sessions: 0,
    helloVerifyRequests: 0,
    handshakesRefused: 0,
    handshakesCompleted: 0,
    handshakesResumed: 0,
    handshakesFailed: 0,
    handshakesThrottled: 0,
  };
  let closed = false;
  const wasEstablished = new WeakSet<Connection>();

  const bump = (m: Map<string, number>, a: string, by: number): void => {
    const n = (m.get(a) ?? 0) + by;
    if (n <= 0) m.delete(a);
    else m.set(a, n);
  };
  const sendTo = (p: Peer, b: Buffer): void => {
    if (closed) return;
    sock.send(b, p.port, p.address, (err) => {
      if (err) log?.debug({ err, peer: p }, 'dtls send failed');
    });
  };

  const certs = opts.certificates;
  const deps = (peer: Peer) => ({
    send: (b: Buffer) => sendTo(peer, b),
    psk: (identity: string, peer: Peer) => opts.psk(identity, peer),
    ...(certs
      ? {
          credential: certs.credential,
          clientCertificate: (chain: Buffer[], p: Peer) => certs.verify(chain, p),
          ...(certs.verifyRawKey
            ? { clientRawKey: (spki: Buffer, p: Peer) => certs.verifyRawKey!(spki, p) }
            : {}),
        }
      : {}),
    maxHandshakeMessageBytes: limits.maxHandshakeMessageBytes,
    now,
    sessions,
    established: (c: Connection) => {
      wasEstablished.add(c);
      stats.handshakes -= 1;
      bump(perAddress.handshakes, c.peer.address, -1);
      stats.sessions += 1;
      stats.handshakesCompleted += 1;
      if (c.resumed) stats.handshakesResumed += 1;
      bump(perAddress.sessions, c.peer.address, 1);
      log?.debug(
        { peer: c.peer, identity: c.identity, resumed: c.resumed },
        'dtls handshake completed',
      );
    },
    data: (c: Connection, d: Buffer) => opts.onData(c as DtlsSession, d),
    closed: (c: Connection, reason: string) => forget(c, reason),
  });

  const forget = (c: Connection, reason: string): void => {
    const key = keyOf(c.peer);
    if (conns.get(key) === c) conns.delete(key);
    queued.delete(c);
    chains.delete(c);
    if (wasEstablished.has(c)) {
      wasEstablished.delete(c);
      stats.sessions -= 1;
      bump(perAddress.sessions, c.peer.address, -1);
      opts.onClose?.(c as DtlsSession, reason);
      log?.debug({ peer: c.peer, identity: c.identity, reason }, 'dtls session ended');
    } else {
      stats.handshakes -= 1;
      stats.handshakesFailed += 1;
      bump(perAddress.handshakes, c.peer.address, -1);
      log?.info({ peer: c.peer, identity: c.identity, reason }, 'dtls handshake failed');
      const failure = authFailureOf(c);
      if (failure !== undefined) opts.onAuthFailure?.(failure);
    }
  };
  /** A ClientHello on epoch 0: stateless until its cookie is valid (RFC 6347 §4.2.1). */
  const onHello = (peer: Peer, r: DtlsRecord, fragment: Buffer): void => {
    let frags;
    let hello: ClientHello;
    try {
      frags = parseFragments(fragment);
      const f = frags[0]!;
      // A fragmented ClientHello cannot be checked statelessly; a PSK hello fits one record.
      if (frags.length !== 1 || f.offset !== 0 || f.body.length !== f.length) return;
      hello = parseClientHello(f.body);
    } catch {
      return; // garbage from an unverified source gets no answer (it may be spoofed)
    }
    const f = frags[0]!;
    const key = keyOf(peer);
    const existing = conns.get(key);
    if (existing !== undefined && existing.state !== 'established' && existing.sameHello(hello)) {
      existing.resend(); // RFC 6347 §4.2.4: our flight was lost, the client repeats its hello
      return;
    }
    const source = `${peer.address}|${peer.port}`;
    if (!cookies.valid(source, hello.cookieless, hello.cookie)) {
      stats.helloVerifyRequests += 1;
      const hvr = encodeHandshake(
        HT.helloVerifyRequest,
        f.messageSeq,
        encodeHelloVerifyRequest(cookies.issue(source, hello.cookieless)),
      );
      // RFC 6347 §4.2.1: the HelloVerifyRequest reuses the ClientHello's record sequence number.
      sendTo(
        peer,
        encodeRecord({ type: CT.handshake, version: DTLS10, epoch: 0, seq: r.seq, fragment: hvr }),
      );
      return;
    }
    try {
      negotiate(hello, certs !== undefined, certs?.verifyRawKey !== undefined);
    } catch (err) {
      if (!(err instanceof Fatal)) throw err;
      stats.handshakesRefused += 1;
      log?.info({ peer, reason: err.message }, 'dtls handshake refused');
      const alert = Buffer.from([LEVEL.fatal, err.alert]);
      sendTo(
        peer,
        encodeRecord({ type: CT.alert, version: DTLS12, epoch: 0, seq: r.seq, fragment: alert }),
      );
      return;
    }
    // The source has shown it receives at its address: only now does it cost us state, bounded.
    const busy =
      stats.handshakes >= limits.maxHandshakes
        ? 'too many handshakes in progress'
        : (perAddress.handshakes.get(peer.address) ?? 0) >= limits.maxHandshakesPerAddress
          ? 'too many handshakes from this address'
          : existing === undefined && stats.sessions >= limits.maxSessions
            ? 'too many sessions'
            : existing === undefined &&
                (perAddress.sessions.get(peer.address) ?? 0) >= limits.maxSessionsPerAddress
              ? 'too many sessions from this address'
              : undefined;
    if (busy !== undefined) {
      stats.handshakesRefused += 1;
      log?.warn({ peer, reason: busy }, 'dtls handshake refused');
      return; // silence: the client retries later; an alert would cost a send per flood packet
    }
    // RFC 6347 §4.2.8: a valid cookie on an existing association starts a new one in its place.
    existing?.drop('the peer started a new handshake');
    stats.handshakes += 1;
    bump(perAddress.handshakes, peer.address, 1);
    let c: Connection;
    try {
      c = new Connection(
        peer,
        hello,
        { msgType: HT.clientHello, messageSeq: f.messageSeq, body: f.body },
        r.seq,
        deps(peer),
      );
    } catch (err) {
      stats.handshakes -= 1;
      bump(perAddress.handshakes, peer.address, -1);
      throw err;
    }
    conns.set(key, c);
    chains.set(c, c.ready); // records wait until the hello is answered (a resumption is judged)
  };

  const onMessage = (msg: Buffer, rinfo: { address: string; port: number }): void => {
    if (closed || msg.length < RECORD_HEADER) return;
    const peer: Peer = { address: rinfo.address, port: rinfo.port };
    const records = parseRecords(msg);
    const rest: DtlsRecord[] = [];
    for (const r of records) {
      if (r.type === CT.handshake && r.epoch === 0 && r.fragment[0] === HT.clientHello) {
        if ((opts.retryAfterMs?.(peer.address) ?? 0) > 0) {
          stats.handshakesThrottled += 1; // silence, as for every bound: no send per flood packet
          continue;
        }
        onHello(peer, r, r.fragment);
      } else {
        rest.push(r);
      }
    }
    if (rest.length === 0) return;
    const c = conns.get(keyOf(peer));
    if (c === undefined) return; // no association: nothing to decrypt with (RFC 6347 §4.2.8)
    const n = queued.get(c) ?? 0;
    if (n >= limits.maxQueuedPerSession) return;
    queued.set(c, n + 1);
    const prev = chains.get(c) ?? Promise.resolve();
    const next = prev
      .then(() => c.receive(rest))
      .catch((err: unknown) => log?.warn({ err, peer }, 'dtls record handling failed'))
      .finally(() => {
        if (queued.has(c)) queued.set(c, (queued.get(c) ?? 1) - 1);
      });
    chains.set(c, next);
  };

  sock.on('message', (msg, rinfo) => {
    try {
      onMessage(msg, rinfo);
    } catch (err) {
      log?.warn({ err, from: rinfo.address }, 'dtls datagram dropped');
    }
  });

  const sweep = setInterval(() => {
    const t = now();
    for (const c of [...conns.values()]) {
      if (c.state === 'established') {
        if (t - c.lastSeen > limits.sessionIdleMs) c.close('idle');
      } else if (t - c.createdAt > limits.handshakeTimeoutMs) {
        c.close('handshake timed out');
      }
    }
  }, 1000);
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port, opts.host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.on('error', (err) => log?.warn({ err }, 'dtls socket error'));
  const bound = sock.address();

  return {
    port: bound.port,
    address: bound.address,
    session(peer) {
      const c = conns.get(keyOf(peer));
      return c !== undefined && c.state === 'established' ? (c as DtlsSession) : undefined;
    },
    send(peer, data) {
      const c = conns.get(keyOf(peer));
      if (c === undefined || c.state !== 'established') return false;
      c.send(data);
      return true;
    },
    closeSessions(match, reason) {
      let n = 0;
      for (const c of [...conns.values()]) {
        if (c.state !== 'established' || !match(c as DtlsSession)) continue;
        c.close(reason);
        n++;
      }
      return n;
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      for (const c of [...conns.values()]) c.close('server closing');
      closed = true;
      clearInterval(sweep);
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}

/** The credential failure a failed handshake stands for, if it failed on its credential. */
function authFailureOf(c: Connection): DtlsAuthFailure | undefined {
  // A certificate refused by the judge was reported there; one whose key is not proven is here.
  if (c.certificateUnproven && c.rawPublicKey !== undefined)
    return { peer: c.peer, identity: '', rawPublicKey: c.rawPublicKey, reason: 'wrong_key' };
  if (c.certificateUnproven)
    return { peer: c.peer, identity: '', certificate: c.certificate![0]!, reason: 'wrong_key' };
  if (c.claimedIdentity === undefined) return undefined;
  if (c.failedWith === ALERT.unknownPskIdentity)
    return { peer: c.peer, identity: c.claimedIdentity, reason: 'unknown' };
  // A Finished that does not decrypt (bad_record_mac) or does not verify (decrypt_error).
  if (c.failedWith === ALERT.badRecordMac || c.failedWith === ALERT.decryptError)
    return { peer: c.peer, identity: c.claimedIdentity, reason: 'wrong_key' };
  return undefined;
}
