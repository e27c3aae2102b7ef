/**
 * One DTLS 1.2 association with a peer, from the second ClientHello (the one with a valid cookie)
 * to close: the PSK handshake (RFC 4279 §2, RFC 6347 §4.2.4 flights 4–6) or the certificate one
 * (ECDHE_ECDSA with a client certificate, RFC 8422, RFC 5246 §7.3) or the abbreviated one
 * (resume.ts); epochs, the replay window and record protection are record-layer.ts's. It is
 * created only after the cookie exchange (server.ts), so a spoofed source never gets one.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ALERT, CT, ECDSA_SUITES, EXT, HT, LEVEL } from './constants.js';
import { CertificateHandshake, REFUSAL_ALERT, type CertificateVerdict } from './cert-handshake.js';
import type { ConnectionDeps, Peer, PskEntry } from './connection-deps.js';
import {
  encodeHandshake,
  parseFragments,
  Reassembler,
  type HandshakeMessage,
} from './handshake.js';
import { encodeServerHello, parsePskClientKeyExchange, type ClientHello } from './hello.js';
import { Fatal, negotiate } from './negotiate.js';
import { prf, pskPremaster } from './prf.js';
import { DecodeError } from './reader.js';
import type { DtlsRecord } from './record.js';
import { RecordLayer } from './record-layer.js';
import { resumable, type ResumableSession } from './resume.js';
import { Transcript } from './transcript.js';

export { Fatal };
export type { CertificateVerdict, ConnectionDeps, Peer, PskEntry };

type State =
  | 'await_certificate'
  | 'await_cke'
  | 'await_cv'
  | 'await_ccs'
  | 'await_finished'
  | 'established'
  | 'closed';

/** One association. */
export class Connection {
  state: State = 'await_cke';
  /** The PSK identity, once the ClientKeyExchange named a known one. */
  identity: string | undefined;
  /** The version of the key the handshake used (PskEntry.ref). */
  pskRef: string | undefined;
  /** The identity the ClientKeyExchange named, known or not (for the failure report). */
  claimedIdentity: string | undefined;
  /** The fatal alert this side ended the handshake with, if it did. */
  failedWith: number | undefined;
  readonly createdAt: number;
  lastSeen: number;
  suite = 0;
  /** The handshake was an abbreviated one (RFC 5246 §7.3), resuming a cached session. */
  resumed = false;
  /** Settles once the ClientHello is answered (a resumption is judged again first). */
  readonly ready: Promise<void>;

  readonly #d: ConnectionDeps;
  readonly #clientRandom: Buffer;
  readonly #serverRandom = randomBytes(32);
  readonly #transcript = new Transcript();
  readonly #reasm: Reassembler;
  readonly #rl: RecordLayer;
  #ems = false;
  #cert: CertificateHandshake | undefined;
  #master: Buffer | undefined;
  /** Our session id (RFC 5246 §7.4.1.3), set when the session may be resumed. */
  #sessionId: Buffer | undefined;
  #resumedFrom: ResumableSession | undefined;
  #nextServerMsgSeq: number;

  constructor(
    readonly peer: Peer,
    hello: ClientHello,
    helloMessage: HandshakeMessage,
    helloRecordSeq: number,
    deps: ConnectionDeps,
  ) {
    this.#d = deps;
    this.createdAt = deps.now();
    this.lastSeen = this.createdAt;
    this.#clientRandom = hello.random;
    this.#reasm = new Reassembler(deps.maxHandshakeMessageBytes);
    // After a stateless HelloVerifyRequest the client is at message_seq 1 and so are we: our
    // ServerHello takes the ClientHello's message_seq (RFC 6347 §4.2.2).
    this.#reasm.expect(helloMessage.messageSeq + 1);
    this.#nextServerMsgSeq = helloMessage.messageSeq;
    // RFC 6347 §4.2.1: records answering the cookie-bearing hello continue from its record number.
    this.#rl = new RecordLayer(helloRecordSeq, deps);
    this.ready = this.#hello(hello, helloMessage).catch((err: unknown) => this.#caught(err));
  }

  /** The client's certificate chain (leaf first), once its Certificate message came. */
  get certificate(): Buffer[] | undefined {
    return this.#cert?.chain ?? this.#resumedFrom?.certificate;
  }

  /** The client's raw public key (SPKI, DER), once its Certificate message came. */
  get rawPublicKey(): Buffer | undefined {
    return this.#cert?.rawKey ?? this.#resumedFrom?.rawPublicKey;
  }

  /** The client's CertificateVerify did not verify under its certificate's key. */
  get certificateUnproven(): boolean {
    return this.#cert?.unproven ?? false;
  }

  /** The ClientHello this association began with (a repeat of it asks for our flight again). */
  sameHello(h: ClientHello): boolean {
    return h.random.equals(this.#clientRandom);
  }

  /** Sends our last flight again if the peer repeated its own (at most once a second). */
  resend(): void {
    this.#rl.resend();
  }

  /** Processes the records of one datagram, in order. */
  async receive(records: DtlsRecord[]): Promise<void> {
    for (const r of records) {
      if (this.state === 'closed') return;
      try {
        await this.#record(r);
      } catch (err) {
        this.#caught(err);
      }
    }
  }

  #caught(err: unknown): void {
    if (err instanceof Fatal) this.#fail(err.alert, err.message);
    else if (err instanceof DecodeError) this.#fail(ALERT.decodeError, err.message);
    else this.#fail(ALERT.internalError, `internal error: ${(err as Error).message}`);
  }

  /** Sends application data (RFC 6347 §4.1: one record, epoch 1). */
  send(plaintext: Buffer): void {
    if (this.state !== 'established') return;
    this.#d.send(this.#rl.sealed(CT.applicationData, plaintext));
  }

  /** Ends the association with close_notify (RFC 5246 §7.2.1). */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.#rl.alert(LEVEL.warning, ALERT.closeNotify);
    this.#end(reason);
  }

  /**
   * Forgets the association without a word: used when the peer started a new handshake from the
   * same address (RFC 6347 §4.2.8), where an alert under the old keys would only reach the new
   * handshake as a record it cannot read.
   */
  drop(reason: string): void {
    this.#end(reason);
  }

  async #record(r: DtlsRecord): Promise<void> {
    if (r.epoch !== this.#rl.readEpoch) {
      // Epoch 0 after the change: a repeat of the client's last flight (its CCS or handshake).
      if (r.epoch === 0 && r.type === CT.handshake) this.#repeatedHandshake(r.fragment);
      return; // RFC 6347 §4.1: records of another epoch are discarded (or buffered; we discard)
    }
    const body = this.#rl.open(r, this.state !== 'established');
    if (body === undefined) return;
    this.lastSeen = this.#d.now();
    switch (r.type) {
      case CT.handshake:
        return this.#handshakeRecord(body);
      case CT.changeCipherSpec:
        return this.#changeCipherSpec(body);
      case CT.alert:
        return this.#peerAlert(body);
      case CT.applicationData:
        if (this.state !== 'established' || r.epoch === 0) {
          throw new Fatal(ALERT.unexpectedMessage, 'application data before the handshake ended');
        }
        this.#d.data(this, body);
        return;
      default:
        return; // RFC 5246 §6: unknown content types are ignored by DTLS (§4.1.2.7)
    }
  }

  #repeatedHandshake(fragment: Buffer): void {
    try {
      for (const f of parseFragments(fragment)) {
        if (f.messageSeq < this.#reasm.next) {
          this.resend();
          return;
        }
      }
    } catch {
      // a garbled repeat: nothing to answer
    }
  }

  async #handshakeRecord(body: Buffer): Promise<void> {
    for (const f of parseFragments(body)) {
      const { message, old } = this.#reasm.add(f);
      if (old) {
        this.resend();
        continue;
      }
      if (message !== undefined) await this.#message(message);
    }
  }

  async #message(m: HandshakeMessage): Promise<void> {
    if (this.state === 'established') {
      // RFC 5746 / RFC 6347 §4.2.8: we renegotiate nothing; a new handshake starts with a cookie.
      this.#rl.alert(LEVEL.warning, ALERT.noRenegotiation);
      return;
    }
    if (this.state === 'await_certificate' && m.msgType === HT.certificate) {
      this.#clientCertificate(m);
      return;
    }
    if (this.state === 'await_cke' && m.msgType === HT.clientKeyExchange) {
      if (this.#cert !== undefined) this.#ecdheKeyExchange(m);
      else await this.#clientKeyExchange(m);
      return;
    }
    if (this.state === 'await_cv' && m.msgType === HT.certificateVerify) {
      await this.#certificateVerify(m);
      return;
    }
    if (this.state === 'await_finished' && m.msgType === HT.finished) {
      this.#finished(m);
      return;
    }
    throw new Fatal(
      ALERT.unexpectedMessage,
      `handshake message ${m.msgType} in state ${this.state}`,
    );
  }

  async #hello(h: ClientHello, m: HandshakeMessage): Promise<void> {
    const cred = this.#d.credential;
    const n = negotiate(
      h,
      cred !== undefined && this.#d.clientCertificate !== undefined,
      this.#d.clientRawKey !== undefined,
    );
    this.#ems = n.extendedMasterSecret;
    this.#transcript.push(encodeHandshake(HT.clientHello, m.messageSeq, m.body));
    const cached = h.sessionId.length > 0 ? this.#d.sessions?.get(h.sessionId) : undefined;
    if (cached !== undefined && (await resumable(h, cached, this.#ems, this.#d, this.peer))) {
      if (this.state !== 'closed') this.#resume(h, cached, n.renegotiationInfo);
      return;
    }
    if (this.state === 'closed') return;
    this.suite = n.suite;
    // Only an extended-master-secret session is resumable (RFC 7627 §5.3; decision 0041).
    if (n.extendedMasterSecret && this.#d.sessions?.enabled) this.#sessionId = randomBytes(32);
    const bodies: [number, Buffer][] = [
      [HT.serverHello, encodeServerHello(this.#serverRandom, n.suite, n, this.#sessionId)],
    ];
    if (ECDSA_SUITES.includes(n.suite)) {
      // RFC 8422 §2.2 / RFC 5246 §7.3: our certificate, the signed ephemeral key, and a request
      // for the client's certificate (it is the device's credential).
      this.#cert = new CertificateHandshake(cred!, n.types!);
      bodies.push(...this.#cert.serverMessages(this.#clientRandom, this.#serverRandom));
      this.state = 'await_certificate';
    }
    // RFC 4279 §2: no PSK ServerKeyExchange without an identity hint; we give none.
    bodies.push([HT.serverHelloDone, Buffer.alloc(0)]);
    const msgs = bodies.map(([t, b]) => encodeHandshake(t, this.#nextServerMsgSeq++, b));
    this.#transcript.push(...msgs);
    // One message per record: tinydtls reads only one handshake message from a record.
    this.#rl.flight(msgs.map((msg) => this.#rl.plain(CT.handshake, msg)));
  }

  /** The abbreviated handshake (RFC 5246 §7.3): ServerHello, ChangeCipherSpec, Finished. */
  #resume(h: ClientHello, s: ResumableSession, renegotiationInfo: boolean): void {
    this.resumed = true;
    this.#resumedFrom = s;
    this.#sessionId = h.sessionId;
    this.suite = s.suite;
    this.identity = s.identity;
    this.pskRef = s.pskRef;
    // A PSK session's client Finished that fails is a wrong key for that identity (the throttle).
    if (s.certificate === undefined && s.rawPublicKey === undefined) {
      this.claimedIdentity = s.identity;
    }
    this.#master = s.master;
    const ext = {
      renegotiationInfo,
      extendedMasterSecret: true,
      ecPointFormats: ECDSA_SUITES.includes(s.suite) && h.extensions.has(EXT.ecPointFormats),
    };
    const hello = encodeServerHello(this.#serverRandom, s.suite, ext, h.sessionId);
    const sh = encodeHandshake(HT.serverHello, this.#nextServerMsgSeq++, hello);
    this.#transcript.push(sh);
    this.#recordKeys();
    const verify = prf(this.#master, 'server finished', this.#transcript.hash(), 12);
    const fin = encodeHandshake(HT.finished, this.#nextServerMsgSeq++, verify);
    this.#transcript.push(fin);
    const records = [
      this.#rl.plain(CT.handshake, sh),
      this.#rl.plain(CT.changeCipherSpec, Buffer.from([1])),
    ];
    this.#rl.changeWriteEpoch();
    this.#rl.flight([...records, this.#rl.sealed(CT.handshake, fin)]);
    this.state = 'await_ccs';
  }

  /** The client's Certificate (RFC 5246 §7.4.6). */
  #clientCertificate(m: HandshakeMessage): void {
    this.#cert!.clientCertificate(m.body);
    this.#transcript.push(encodeHandshake(HT.certificate, m.messageSeq, m.body));
    this.state = 'await_cke';
  }

  /**
   * CertificateVerify (RFC 5246 §7.4.8) proves the client holds its certificate's key; only then
   * is the certificate itself judged by the layer above (chain, revocation, device state).
   */
  async #certificateVerify(m: HandshakeMessage): Promise<void> {
    this.#cert!.verify(m.body, this.#transcript.bytes());
    this.#transcript.push(encodeHandshake(HT.certificateVerify, m.messageSeq, m.body));
    const raw = this.#cert!.rawKey;
    const verdict =
      raw !== undefined
        ? await this.#d.clientRawKey!(raw, this.peer)
        : await this.#d.clientCertificate!(this.#cert!.chain!, this.peer);
    if (this.state === 'closed') return;
    if (!verdict.ok) throw new Fatal(REFUSAL_ALERT[verdict.refusal], verdict.reason);
    // A certificate (or raw key) session has no PSK identity (DtlsSession: '' and the key instead).
    this.identity = '';
    this.pskRef = '';
    this.state = 'await_ccs';
  }

  async #clientKeyExchange(m: HandshakeMessage): Promise<void> {
    const identityBytes = parsePskClientKeyExchange(m.body);
    const identity = identityBytes.toString('utf8');
    if (identityBytes.length === 0 || !Buffer.from(identity, 'utf8').equals(identityBytes)) {
      throw new Fatal(ALERT.unknownPskIdentity, 'the PSK identity is empty or not UTF-8');
    }
    this.#transcript.push(encodeHandshake(HT.clientKeyExchange, m.messageSeq, m.body));
    this.claimedIdentity = identity;
    const entry = await this.#d.psk(identity, this.peer);
    if (this.state === 'closed') return;
    // RFC 4279 §2: "If the server does not recognize the PSK identity, it MAY respond with an
    // unknown_psk_identity alert" — we do; an identity is not a secret here (decision 0041).
    if (entry === undefined) {
      throw new Fatal(ALERT.unknownPskIdentity, `unknown PSK identity ${JSON.stringify(identity)}`);
    }
    this.identity = identity;
    this.pskRef = entry.ref;
    this.#keys(pskPremaster(entry.key));
    this.state = 'await_ccs';
  }

  /** An ECDHE ClientKeyExchange (RFC 8422 §5.7); the CertificateVerify comes next. */
  #ecdheKeyExchange(m: HandshakeMessage): void {
    const pms = this.#cert!.premaster(m.body);
    this.#transcript.push(encodeHandshake(HT.clientKeyExchange, m.messageSeq, m.body));
    this.#keys(pms);
    this.state = 'await_cv';
  }

  /** The master secret and the record keys from a premaster secret (transcript up to the CKE). */
  #keys(pms: Buffer): void {
    // RFC 7627 §4: with extended master secret the master is bound to this handshake's transcript.
    this.#master = this.#ems
      ? prf(pms, 'extended master secret', this.#transcript.hash(), 48)
      : prf(pms, 'master secret', Buffer.concat([this.#clientRandom, this.#serverRandom]), 48);
    this.#recordKeys();
  }

  /** The record keys from the master secret and this handshake's randoms (record-layer.ts). */
  #recordKeys(): void {
    this.#rl.keys(this.#master!, this.#clientRandom, this.#serverRandom, this.suite);
  }

  #changeCipherSpec(body: Buffer): void {
    if (body.length !== 1 || body[0] !== 1)
      throw new Fatal(ALERT.decodeError, 'bad ChangeCipherSpec');
    if (this.state !== 'await_ccs') return; // early (reordered) or repeated: the flight is resent
    this.#rl.changeReadEpoch();
    this.state = 'await_finished';
  }

  #finished(m: HandshakeMessage): void {
    const expected = prf(this.#master!, 'client finished', this.#transcript.hash(), 12);
    if (m.body.length !== 12 || !timingSafeEqual(m.body, expected)) {
      throw new Fatal(ALERT.decryptError, 'the client Finished does not verify (wrong key)');
    }
    this.#transcript.push(encodeHandshake(HT.finished, m.messageSeq, m.body));
    if (!this.resumed) {
      const verify = prf(this.#master!, 'server finished', this.#transcript.hash(), 12);
      const fin = encodeHandshake(HT.finished, this.#nextServerMsgSeq++, verify);
      const ccs = this.#rl.plain(CT.changeCipherSpec, Buffer.from([1]));
      this.#rl.changeWriteEpoch();
      this.#rl.flight([ccs, this.#rl.sealed(CT.handshake, fin)]);
    }
    this.state = 'established';
    this.#transcript.clear();
    if (this.#sessionId !== undefined) {
      this.#d.sessions?.put(this.#sessionId, {
        master: this.#master!,
        suite: this.suite,
        identity: this.identity!,
        pskRef: this.pskRef!,
        certificate: this.certificate,
        rawPublicKey: this.rawPublicKey,
        createdAt: this.#resumedFrom?.createdAt ?? this.#d.now(),
      });
    }
    this.#d.established(this);
  }

  #peerAlert(body: Buffer): void {
    if (body.length !== 2) return;
    const [level, desc] = [body[0]!, body[1]!];
    if (desc === ALERT.closeNotify) {
      this.#rl.alert(LEVEL.warning, ALERT.closeNotify);
      this.#end('the peer sent close_notify');
    } else if (level === LEVEL.fatal) {
      this.#end(`the peer sent fatal alert ${desc}`);
    }
  }

  #fail(alert: number, reason: string): void {
    if (this.state !== 'established') this.failedWith ??= alert;
    this.#rl.alert(LEVEL.fatal, alert);
    this.#end(reason);
  }

  #end(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.#rl.forgetFlight();
    this.#d.closed(this, reason);
  }
}
