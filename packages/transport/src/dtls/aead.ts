/**
 * Record protection with AES-128-CCM (RFC 6655 §3) or AES-128-GCM (RFC 5288 §3) in DTLS: the nonce
 * is the 4-byte implicit IV (GCM's "salt") followed by the 8-byte explicit nonce, which is the
 * record's epoch and sequence number (RFC 6655 §3: "the 64-bit seq_num"; RFC 5288 §3 lets the
 * sender choose it, and the sequence number never repeats under one key); the additional data is
 * seq_num + type + version + plaintext length (RFC 5246 §6.2.3.3 with DTLS's epoch-qualified
 * sequence number, RFC 6347 §4.1.2.1).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

const EXPLICIT_NONCE = 8;

/** The AEAD of a suite: node:crypto's name. */
export type AeadAlgorithm = 'aes-128-ccm' | 'aes-128-gcm';

/** One direction's record protection. */
export class AeadCipher {
  constructor(
    private readonly key: Buffer,
    private readonly iv: Buffer,
    private readonly tagLength: 8 | 16,
    private readonly algorithm: AeadAlgorithm = 'aes-128-ccm',
  ) {}

  /** node:crypto's GCM takes the same options (authTagLength; setAAD's plaintextLength unused). */
  get #alg(): 'aes-128-ccm' {
    return this.algorithm as 'aes-128-ccm';
  }

  /** The bytes that grow a record: explicit nonce and tag. */
  get overhead(): number {
    return EXPLICIT_NONCE + this.tagLength;
  }

  /** The protected fragment: explicit nonce, ciphertext, tag. */
  seal(type: number, version: number, epoch: number, seq: number, plaintext: Buffer): Buffer {
    const explicit = seqNum(epoch, seq);
    const c = createCipheriv(this.#alg, this.key, Buffer.concat([this.iv, explicit]), {
      authTagLength: this.tagLength,
    });
    c.setAAD(aad(explicit, type, version, plaintext.length), { plaintextLength: plaintext.length });
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([explicit, ct, c.getAuthTag()]);
  }

  /** The plaintext, or undefined when the fragment does not authenticate (RFC 6347 §4.1.2.7). */
  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Buffer,
  ): Buffer | undefined {
    if (fragment.length < this.overhead) return undefined;
    const explicit = fragment.subarray(0, EXPLICIT_NONCE);
    const ct = fragment.subarray(EXPLICIT_NONCE, fragment.length - this.tagLength);
    const tag = fragment.subarray(fragment.length - this.tagLength);
    try {
      const d = createDecipheriv(this.#alg, this.key, Buffer.concat([this.iv, explicit]), {
        authTagLength: this.tagLength,
      });
      d.setAuthTag(tag);
      d.setAAD(aad(seqNum(epoch, seq), type, version, ct.length), { plaintextLength: ct.length });
      const pt = d.update(ct);
      d.final();
      return pt;
    } catch {
      return undefined;
    }
  }
}

/** The 64-bit seq_num of DTLS: 16-bit epoch, 48-bit sequence number. */
export function seqNum(epoch: number, seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(epoch, 0);
  b.writeUIntBE(seq, 2, 6);
  return b;
}

function aad(seq: Buffer, type: number, version: number, length: number): Buffer {
  const b = Buffer.alloc(13);
  seq.copy(b, 0);
  b[8] = type;
  b.writeUInt16BE(version, 9);
  b.writeUInt16BE(length, 11);
  return b;
}
