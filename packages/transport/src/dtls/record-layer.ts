/**
 * The record side of one association (RFC 6347 §4.1): epochs, record sequence numbers, the replay
 * window, record protection, and our last flight kept for retransmission (RFC 6347 §4.2.4).
 */
import { AeadCipher } from './aead.js';
import { ALERT, CT, DTLS12, aeadOf, tagLengthOf } from './constants.js';
import { Fatal } from './fatal.js';
import { keyBlock } from './prf.js';
import { encodeRecord, packDatagrams, type DtlsRecord } from './record.js';
import { ReplayWindow } from './replay.js';

/** What the record layer needs from its connection. */
export interface RecordLayerDeps {
  send(datagram: Buffer): void;
  now(): number;
}

/** Epochs, sequence numbers, keys and retransmission for one association. */
export class RecordLayer {
  readonly #d: RecordLayerDeps;
  readonly #replay = new ReplayWindow();
  #readEpoch = 0;
  #pendingRead: AeadCipher | undefined;
  #read: AeadCipher | undefined;
  #write: AeadCipher | undefined;
  #writeEpoch = 0;
  #seq0: number;
  #seq1 = 0;
  /** Our last flight, sent again when the peer repeats its previous one (RFC 6347 §4.2.4). */
  #lastFlight: Buffer[] | undefined;
  #lastResend = 0;

  constructor(seq0: number, deps: RecordLayerDeps) {
    this.#d = deps;
    this.#seq0 = seq0;
  }

  /** The epoch of the records we read (0 until the peer's ChangeCipherSpec). */
  get readEpoch(): number {
    return this.#readEpoch;
  }

  /** Sends our last flight again if the peer repeated its own (at most once a second). */
  resend(): void {
    const t = this.#d.now();
    if (this.#lastFlight === undefined || t - this.#lastResend < 1000) return;
    this.#lastResend = t;
    for (const d of this.#lastFlight) this.#d.send(d);
  }

  /** Forgets our last flight (the association ended: nothing to resend). */
  forgetFlight(): void {
    this.#lastFlight = undefined;
  }

  /**
   * The body of a record of the current read epoch, or undefined when it is to be discarded.
   * `handshaking`: the handshake has not ended (a record that fails to authenticate is then fatal).
   */
  open(r: DtlsRecord, handshaking: boolean): Buffer | undefined {
    if (r.epoch > 0) {
      // RFC 6347 §4.1.2.6: the replay check comes before authentication, the update after it.
      if (!this.#replay.fresh(r.seq)) return undefined;
      const pt = this.#read!.open(r.type, r.version, r.epoch, r.seq, r.fragment);
      if (pt === undefined) {
        // RFC 6347 §4.1.2.7: invalid records are discarded; during the handshake the only epoch-1
        // record is the Finished, and one that fails means a wrong key: say so and end.
        if (handshaking) {
          throw new Fatal(ALERT.badRecordMac, 'the Finished did not authenticate (wrong key)');
        }
        return undefined;
      }
      this.#replay.accept(r.seq);
      return pt;
    } else if (r.version !== DTLS12 && r.version !== 0xfeff) {
      return undefined;
    }
    return r.fragment;
  }

  /** The record keys from the master secret and this handshake's randoms (RFC 5246 §6.3). */
  keys(master: Buffer, clientRandom: Buffer, serverRandom: Buffer, suite: number): void {
    const kb = keyBlock(master, clientRandom, serverRandom);
    const tag = tagLengthOf(suite);
    const aead = aeadOf(suite);
    this.#pendingRead = new AeadCipher(kb.clientKey, kb.clientIv, tag, aead);
    this.#write = new AeadCipher(kb.serverKey, kb.serverIv, tag, aead);
  }

  /** The peer's ChangeCipherSpec: its records are read under the new keys, epoch 1. */
  changeReadEpoch(): void {
    this.#read = this.#pendingRead;
    this.#readEpoch = 1;
  }

  /** Our ChangeCipherSpec is sent: what we write next is protected, epoch 1. */
  changeWriteEpoch(): void {
    this.#writeEpoch = 1;
  }

  /** Sends an alert, protected once our ChangeCipherSpec went out. */
  alert(level: number, desc: number): void {
    const body = Buffer.from([level, desc]);
    this.#d.send(this.#writeEpoch === 0 ? this.plain(CT.alert, body) : this.sealed(CT.alert, body));
  }

  /** Sends a flight (record boundaries kept; record.ts packDatagrams) and keeps it to resend. */
  flight(records: Buffer[]): void {
    this.#lastFlight = packDatagrams(records);
    for (const d of this.#lastFlight) this.#d.send(d);
  }

  /** An epoch-0 (unprotected) record. */
  plain(type: number, fragment: Buffer): Buffer {
    return encodeRecord({ type, version: DTLS12, epoch: 0, seq: this.#seq0++, fragment });
  }

  /** An epoch-1 record, sealed under our write key. */
  sealed(type: number, plaintext: Buffer): Buffer {
    const seq = this.#seq1++;
    const fragment = this.#write!.seal(type, DTLS12, 1, seq, plaintext);
    return encodeRecord({ type, version: DTLS12, epoch: 1, seq, fragment });
  }
}
