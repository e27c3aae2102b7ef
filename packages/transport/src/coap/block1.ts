/**
 * Block1 reassembly (RFC 7959 §2.3) with hard bounds: total bytes, transfers per source and in
 * total, and a deadline per transfer. Replaces node-coap's, which keys transfers by token (libcoap
 * changes the token on every block), and buffers unbounded and unauthenticated.
 */
import { BulwarkError } from '@bulwark/protocol';
import { blockSize, type BlockOption } from './block-option.js';
import { CoapFault } from './status.js';

/** What the assembler tells the handler after one block. */
export type BlockStep =
  /** More blocks to come: answer 2.31 Continue (RFC 7959 §2.3). */
  | { done: false }
  /** The last block arrived: the whole body. */
  | { done: true; body: Buffer };

interface Transfer {
  source: string;
  chunks: Buffer[];
  bytes: number;
  timer: NodeJS.Timeout;
}

/** Bounds of the assembler. */
export interface AssemblerLimits {
  maxPayloadBytes: number;
  maxTransfersPerSource: number;
  maxTransfers: number;
  transferTimeoutMs: number;
}

/** Holds in-progress Block1 uploads, keyed by endpoint, resource and Request-Tag (RFC 9175 §3.3). */
export class Block1Assembler {
  readonly #transfers = new Map<string, Transfer>();
  readonly #perSource = new Map<string, number>();

  constructor(private readonly limits: AssemblerLimits) {}

  /** Transfers in progress. */
  get size(): number {
    return this.#transfers.size;
  }

  /**
   * Adds one block. `key` identifies the body (endpoint + path + Request-Tag), `source` the IP
   * address the per-source bound applies to, `size1` the announced total (RFC 7959 §4) if any.
   */
  add(key: string, source: string, block: BlockOption, payload: Buffer, size1?: number): BlockStep {
    const size = blockSize(block.szx);
    if (size1 !== undefined && size1 > this.limits.maxPayloadBytes) {
      this.#drop(key); // RFC 7959 §4: refuse early when Size1 announces too much
      throw new BulwarkError('payload_too_large', `body of ${size1} bytes exceeds the limit`);
    }
    // RFC 7959 §2.3: every block but the last carries exactly the block size.
    if (block.more && payload.length !== size) {
      this.#drop(key);
      throw new BulwarkError('malformed_body', `block ${block.num} is not ${size} bytes`);
    }
    const offset = block.num * size;
    let t = this.#transfers.get(key);
    if (block.num === 0) {
      this.#drop(key); // a new block 0 restarts the body (RFC 7959 §2.5)
      t = undefined;
    } else if (t !== undefined && block.more && t.bytes === offset + payload.length) {
      return { done: false }; // the previous block again (its 2.31 was lost): acknowledge again
    } else if (t === undefined || t.bytes !== offset) {
      this.#drop(key);
      // RFC 7959 §2.9.2: a block out of sequence (or of an unknown body) is 4.08.
      throw new CoapFault('4.08', `block ${block.num} does not continue a body in progress`);
    }
    if (offset + payload.length > this.limits.maxPayloadBytes) {
      this.#drop(key);
      throw new BulwarkError('payload_too_large', 'body exceeds the size limit');
    }
    if (!block.more && t === undefined) return { done: true, body: Buffer.from(payload) };
    if (t === undefined) t = this.#start(key, source);
    t.chunks.push(Buffer.from(payload)); // copy: the datagram buffer is not ours to keep
    t.bytes += payload.length;
    if (block.more) return { done: false };
    this.#drop(key);
    return { done: true, body: Buffer.concat(t.chunks, t.bytes) };
  }

  /** Drops every transfer (server close). */
  clear(): void {
    for (const key of [...this.#transfers.keys()]) this.#drop(key);
  }

  #start(key: string, source: string): Transfer {
    const n = this.#perSource.get(source) ?? 0;
    if (
      n >= this.limits.maxTransfersPerSource ||
      this.#transfers.size >= this.limits.maxTransfers
    ) {
      throw new BulwarkError('unavailable', 'too many block-wise transfers in progress');
    }
    const timer = setTimeout(() => this.#drop(key), this.limits.transferTimeoutMs);
    timer.unref();
    const t: Transfer = { source, chunks: [], bytes: 0, timer };
    this.#transfers.set(key, t);
    this.#perSource.set(source, n + 1);
    return t;
  }

  #drop(key: string): void {
    const t = this.#transfers.get(key);
    if (t === undefined) return;
    clearTimeout(t.timer);
    this.#transfers.delete(key);
    const n = (this.#perSource.get(t.source) ?? 1) - 1;
    if (n <= 0) this.#perSource.delete(t.source);
    else this.#perSource.set(t.source, n);
  }
}
