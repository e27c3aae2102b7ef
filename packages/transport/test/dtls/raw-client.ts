/**
 * A minimal DTLS 1.2 PSK client for tests that need to misbehave on purpose (replays, floods,
 * cookie games). It uses the server's own primitives, so it proves consistency only; the interop
 * tests with OpenSSL (libcoap) and tinydtls (Wakaama) prove the wire format.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { AeadCipher as CcmCipher } from '../../src/dtls/aead.js';
import { CT, DTLS12, HT } from '../../src/dtls/constants.js';
import { encodeHandshake, parseFragments } from '../../src/dtls/handshake.js';
import { keyBlock, prf, pskPremaster } from '../../src/dtls/prf.js';
import { encodeRecord, parseRecords, type DtlsRecord } from '../../src/dtls/record.js';

/** A ClientHello body. */
export function clientHelloBody(o: {
  random: Buffer;
  cookie?: Buffer;
  suites?: number[];
  ems?: boolean;
  version?: number;
  sessionId?: Buffer;
}): Buffer {
  const suites = o.suites ?? [0xc0a8];
  const cookie = o.cookie ?? Buffer.alloc(0);
  const s = Buffer.alloc(2 + suites.length * 2);
  s.writeUInt16BE(suites.length * 2, 0);
  suites.forEach((x, i) => s.writeUInt16BE(x, 2 + 2 * i));
  const head = Buffer.alloc(2);
  head.writeUInt16BE(o.version ?? DTLS12, 0);
  const sid = o.sessionId ?? Buffer.alloc(0);
  const parts = [
    head,
    o.random,
    Buffer.from([sid.length]),
    sid,
    Buffer.from([cookie.length]),
    cookie,
    s,
  ];
  parts.push(Buffer.from([1, 0])); // compression: null
  if (o.ems) parts.push(Buffer.from([0, 4, 0x00, 0x17, 0, 0]));
  return Buffer.concat(parts);
}

/** One ClientHello record. */
export function clientHelloRecord(body: Buffer, messageSeq: number, recordSeq: number): Buffer {
  return encodeRecord({
    type: CT.handshake,
    version: DTLS12,
    epoch: 0,
    seq: recordSeq,
    fragment: encodeHandshake(HT.clientHello, messageSeq, body),
  });
}

/** A UDP socket with a queue of received datagrams. */
export class Udp {
  readonly sock: Socket = createSocket('udp4');
  readonly #queue: Buffer[] = [];
  #waiter: (() => void) | undefined;

  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      this.#queue.push(m);
      this.#waiter?.();
    });
  }

  async open(localPort = 0): Promise<this> {
    await new Promise<void>((r) => this.sock.bind(localPort, '127.0.0.1', r));
    return this;
  }

  send(b: Buffer): void {
    this.sock.send(b, this.port, '127.0.0.1');
  }

  /** The next datagram, or undefined after `ms`. */
  async next(ms = 2000): Promise<Buffer | undefined> {
    if (this.#queue.length === 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#queue.shift();
  }

  close(): void {
    this.sock.close();
  }
}

/** An established test association. */
export interface RawSession {
  udp: Udp;
  /** Sends application data with the next (or a given) record sequence number. */
  send(data: Buffer, seq?: number): void;
  /** The next application data record, decrypted. */
  recv(ms?: number): Promise<Buffer | undefined>;
  /** Records as received by the last `recv` call that were alerts: [level, description]. */
  close(): void;
  /** The session id the server gave (empty: not resumable). */
  sessionId: Buffer;
  /** The master secret (to resume the session in a benchmark). */
  master: Buffer;
}

/** Runs the cookie exchange and the PSK handshake; throws with the alert when the server refuses. */
export async function handshake(
  port: number,
  identity: string,
  key: Buffer,
  o: { ems?: boolean; suite?: number; localPort?: number } = {},
): Promise<RawSession> {
  const udp = await new Udp(port).open(o.localPort);
  try {
    return await run(udp, identity, key, o);
  } catch (err) {
    udp.close();
    throw err;
  }
}

async function run(
  udp: Udp,
  identity: string,
  key: Buffer,
  o: { ems?: boolean; suite?: number },
): Promise<RawSession> {
  const random = randomBytes(32);
  const suites = [o.suite ?? 0xc0a8];
  udp.send(clientHelloRecord(clientHelloBody({ random, suites, ems: o.ems ?? false }), 0, 0));
  const hvr = await udp.next();
  if (hvr === undefined) throw new Error('no HelloVerifyRequest');
  const hvrFrag = parseFragments(parseRecords(hvr)[0]!.fragment)[0]!;
  const cookie = hvrFrag.body.subarray(3, 3 + hvrFrag.body[2]!);
  const ch2 = clientHelloBody({ random, cookie, suites, ems: o.ems ?? false });
  udp.send(clientHelloRecord(ch2, 1, 1));
  const transcript = [encodeHandshake(HT.clientHello, 1, ch2)];
  const msgs: { type: number; seq: number; body: Buffer }[] = [];
  while (msgs.length < 2) {
    const d = await udp.next();
    if (d === undefined) throw new Error('no ServerHello');
    for (const r of parseRecords(d)) {
      if (r.type === CT.alert) throw new Error(`alert ${r.fragment[1]}`);
      for (const f of parseFragments(r.fragment))
        msgs.push({ type: f.msgType, seq: f.messageSeq, body: f.body });
    }
  }
  const [sh, done] = msgs as [(typeof msgs)[0], (typeof msgs)[0]];
  transcript.push(
    encodeHandshake(sh.type, sh.seq, sh.body),
    encodeHandshake(done.type, done.seq, done.body),
  );
  const serverRandom = sh.body.subarray(2, 34);
  const sid = sh.body[34]!; // a session id when the session is resumable
  const suite = sh.body.readUInt16BE(35 + sid);
  const ems =
    sh.body.length > 38 + sid && sh.body.includes(Buffer.from([0x00, 0x17, 0, 0]), 40 + sid);
  const idb = Buffer.from(identity);
  const cke = Buffer.concat([Buffer.from([idb.length >> 8, idb.length & 0xff]), idb]);
  transcript.push(encodeHandshake(HT.clientKeyExchange, 2, cke));
  const hash = (): Buffer => {
    const h = createHash('sha256');
    transcript.forEach((m) => h.update(m));
    return h.digest();
  };
  const pms = pskPremaster(key);
  const master = ems
    ? prf(pms, 'extended master secret', hash(), 48)
    : prf(pms, 'master secret', Buffer.concat([random, serverRandom]), 48);
  const kb = keyBlock(master, random, serverRandom);
  const tag = suite === 0xc0a8 ? 8 : 16;
  const write = new CcmCipher(kb.clientKey, kb.clientIv, tag);
  const read = new CcmCipher(kb.serverKey, kb.serverIv, tag);
  let seq1 = 0;
  const prot = (type: number, pt: Buffer, seq = seq1++): Buffer =>
    encodeRecord({
      type,
      version: DTLS12,
      epoch: 1,
      seq,
      fragment: write.seal(type, DTLS12, 1, seq, pt),
    });
  const fin = encodeHandshake(HT.finished, 3, prf(master, 'client finished', hash(), 12));
  udp.send(
    Buffer.concat([
      encodeRecord({
        type: CT.handshake,
        version: DTLS12,
        epoch: 0,
        seq: 2,
        fragment: encodeHandshake(HT.clientKeyExchange, 2, cke),
      }),
      encodeRecord({
        type: CT.changeCipherSpec,
        version: DTLS12,
        epoch: 0,
        seq: 3,
        fragment: Buffer.from([1]),
      }),
      prot(CT.handshake, fin),
    ]),
  );
  const open = (r: DtlsRecord): Buffer | undefined =>
    r.epoch === 1 ? read.open(r.type, r.version, r.epoch, r.seq, r.fragment) : r.fragment;
  const reply = await udp.next();
  if (reply === undefined) throw new Error('no server Finished');
  for (const r of parseRecords(reply)) {
    const pt = open(r);
    if (r.type === CT.alert) throw new Error(`alert ${pt?.[1]}`);
    if (r.type === CT.handshake && r.epoch === 1) {
      transcript.push(fin);
      const expected = prf(master, 'server finished', hash(), 12);
      if (pt === undefined || !pt.subarray(12).equals(expected))
        throw new Error('bad server Finished');
    }
  }
  return {
    udp,
    send: (data, seq) => udp.send(prot(CT.applicationData, data, seq)),
    async recv(ms) {
      for (;;) {
        const d = await udp.next(ms);
        if (d === undefined) return undefined;
        for (const r of parseRecords(d)) {
          const pt = open(r);
          if (r.type === CT.applicationData && pt !== undefined) return pt;
          if (r.type === CT.alert && pt !== undefined)
            return Buffer.concat([Buffer.from('alert:'), pt]);
        }
      }
    },
    close: () => udp.close(),
    sessionId: sh.body.subarray(35, 35 + sid),
    master,
  };
}

/**
 * The abbreviated handshake (RFC 5246 §7.3) resuming `prior` (an EMS PSK CCM_8 session), then one
 * echoed record `x`; throws when the server answers with a full handshake or an alert.
 */
export async function resumeHandshake(port: number, prior: RawSession): Promise<void> {
  const udp = await new Udp(port).open();
  try {
    const random = randomBytes(32);
    const body = (cookie?: Buffer): Buffer =>
      clientHelloBody({
        random,
        sessionId: prior.sessionId,
        ems: true,
        ...(cookie ? { cookie } : {}),
      });
    udp.send(clientHelloRecord(body(), 0, 0));
    const hvr = parseFragments(parseRecords((await udp.next())!)[0]!.fragment)[0]!;
    const ch2 = body(hvr.body.subarray(3, 3 + hvr.body[2]!));
    udp.send(clientHelloRecord(ch2, 1, 1));
    const recs: DtlsRecord[] = [];
    // SH, CCS, Finished; a full handshake's SH, ServerHelloDone ends it sooner
    while (recs.length < 3 && recs[1]?.type !== CT.handshake) {
      const d = await udp.next();
      if (d === undefined) throw new Error('no abbreviated flight');
      recs.push(...parseRecords(d));
    }
    const sh = parseFragments(recs[0]!.fragment)[0]!;
    if (recs[1]!.type !== CT.changeCipherSpec)
      throw new Error('a full handshake, not a resumption');
    const kb = keyBlock(prior.master, random, sh.body.subarray(2, 34));
    const write = new CcmCipher(kb.clientKey, kb.clientIv, 8);
    const read = new CcmCipher(kb.serverKey, kb.serverIv, 8);
    const f = recs[2]!;
    const serverFin = read.open(f.type, f.version, 1, f.seq, f.fragment);
    const h = createHash('sha256');
    [
      encodeHandshake(HT.clientHello, 1, ch2),
      encodeHandshake(HT.serverHello, sh.messageSeq, sh.body),
    ]
      .concat(serverFin ?? Buffer.alloc(0))
      .forEach((m) => h.update(m));
    const fin = encodeHandshake(
      HT.finished,
      2,
      prf(prior.master, 'client finished', h.digest(), 12),
    );
    const prot = (type: number, pt: Buffer, seq: number): Buffer =>
      encodeRecord({
        type,
        version: DTLS12,
        epoch: 1,
        seq,
        fragment: write.seal(type, DTLS12, 1, seq, pt),
      });
    const ccs = encodeRecord({
      type: CT.changeCipherSpec,
      version: DTLS12,
      epoch: 0,
      seq: 2,
      fragment: Buffer.from([1]),
    });
    udp.send(
      Buffer.concat([
        ccs,
        prot(CT.handshake, fin, 0),
        prot(CT.applicationData, Buffer.from('x'), 1),
      ]),
    );
    // A wrong master secret still sends its Finished (the server's verdict is what is tested).
    const echo = await udp.next(); // (also: the socket stays open until the send is out)
    if (serverFin === undefined) throw new Error('the server Finished does not decrypt');
    const e = echo === undefined ? undefined : parseRecords(echo)[0]!;
    if (e === undefined || e.type !== CT.applicationData) throw new Error('no echo');
    if (read.open(e.type, e.version, 1, e.seq, e.fragment)?.toString() !== 'x')
      throw new Error('bad echo');
  } finally {
    udp.close();
  }
}
