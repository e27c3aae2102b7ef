/**
 * A bounded, ordered, on-disk queue of outbound MQTT messages. Each message is one file named by
 * its sequence number, written atomically, so a kill -9 at any point leaves every acknowledged
 * push intact; a message is removed only after the hub's PUBACK. Bounds are explicit: when full,
 * `drop-oldest` makes room (and says how many it dropped) or `refuse-new` refuses the message.
 */
import type { AgentFiles } from '../ports.js';

/** One queued message. */
export interface QueuedMessage {
  topic: string;
  payload: Uint8Array;
  contentType?: string;
  qos: 0 | 1;
  /** Device clock at push, milliseconds. */
  at: number;
  /** How many items the message carries (a log batch's records); 1 when not given. */
  items?: number;
}

/** A queued message with its position. */
export interface QueueEntry extends QueuedMessage {
  seq: number;
}

/** What `push` did. */
export type PushOutcome = {
  queued: true;
  seq: number;
  /** Messages dropped to make room (drop-oldest). */
  dropped: number;
  /** The items those messages carried (their `items`, 1 each when not given). */
  droppedItems: number;
};

/** The queue is full and its policy is `refuse-new` (or the message alone exceeds the bound). */
export class QueueFullError extends Error {
  readonly code = 'queue_full';
}

const SEQ_DIGITS = 16;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a message: a 4-byte header length, a JSON header, then the payload bytes. */
function encode(m: QueuedMessage): Uint8Array {
  const header = enc.encode(
    JSON.stringify({
      t: m.topic,
      q: m.qos,
      a: m.at,
      ...(m.contentType !== undefined ? { c: m.contentType } : {}),
      ...(m.items !== undefined ? { n: m.items } : {}),
    }),
  );
  const out = new Uint8Array(4 + header.byteLength + m.payload.byteLength);
  new DataView(out.buffer).setUint32(0, header.byteLength);
  out.set(header, 4);
  out.set(m.payload, 4 + header.byteLength);
  return out;
}

function decode(bytes: Uint8Array): QueuedMessage {
  if (bytes.byteLength < 4) throw new Error('truncated');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + n > bytes.byteLength) throw new Error('truncated header');
  const h = JSON.parse(dec.decode(bytes.subarray(4, 4 + n))) as {
    t: unknown;
    q: unknown;
    a: unknown;
    c?: unknown;
    n?: unknown;
  };
  if (typeof h.t !== 'string' || (h.q !== 0 && h.q !== 1) || typeof h.a !== 'number')
    throw new Error('bad header');
  return {
    topic: h.t,
    qos: h.q,
    at: h.a,
    payload: bytes.slice(4 + n),
    ...(typeof h.c === 'string' ? { contentType: h.c } : {}),
    ...(typeof h.n === 'number' ? { items: h.n } : {}),
  };
}

/** Bounds and overflow policy of one queue. */
export interface QueueLimits {
  maxMessages: number;
  maxBytes: number;
  overflow: 'drop-oldest' | 'refuse-new';
}

/** The on-disk queue under one prefix of the agent's files (e.g. `queue/telemetry/`). */
export class DiskQueue {
  private index: { seq: number; size: number; items: number }[] = [];
  private bytes = 0;
  private nextSeq = 1;
  /** Every mutation runs in this chain, so push and ack never interleave on disk. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly files: AgentFiles,
    private readonly prefix: string,
    private readonly limits: QueueLimits,
  ) {}

  /**
   * Opens the queue, reading what a previous run left. Files that do not decode (a disk that lost
   * data under us) are moved aside, counted in `corrupt`, and never block the rest.
   */
  static async open(
    files: AgentFiles,
    prefix: string,
    limits: QueueLimits,
  ): Promise<{ queue: DiskQueue; corrupt: number }> {
    const q = new DiskQueue(files, prefix, limits);
    let corrupt = 0;
    for (const name of await files.list(prefix)) {
      const seq = Number(name.slice(prefix.length));
      if (!Number.isSafeInteger(seq) || seq <= 0) continue;
      const bytes = await files.read(name);
      try {
        if (bytes === undefined) throw new Error('vanished');
        const m = decode(bytes);
        q.index.push({ seq, size: bytes.byteLength, items: m.items ?? 1 });
        q.bytes += bytes.byteLength;
      } catch {
        corrupt++;
        await files.remove(name);
      }
      q.nextSeq = Math.max(q.nextSeq, seq + 1);
    }
    return { queue: q, corrupt };
  }

  get length(): number {
    return this.index.length;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  private name(seq: number): string {
    return this.prefix + String(seq).padStart(SEQ_DIGITS, '0');
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Appends a message durably. Rejects with QueueFullError (policy refuse-new) or with the storage
   * error (ENOSPC for a full disk); either way the queue on disk is unchanged.
   */
  push(m: QueuedMessage): Promise<PushOutcome> {
    return this.serial(async () => {
      const data = encode(m);
      if (data.byteLength > this.limits.maxBytes)
        throw new QueueFullError(`message of ${data.byteLength} bytes exceeds the queue bound`);
      let dropped = 0;
      let droppedItems = 0;
      const over = () =>
        this.index.length + 1 > this.limits.maxMessages ||
        this.bytes + data.byteLength > this.limits.maxBytes;
      if (over() && this.limits.overflow === 'refuse-new')
        throw new QueueFullError(
          `offline queue full (${this.index.length} messages, ${this.bytes} bytes)`,
        );
      const seq = this.nextSeq;
      // Written first: a full disk fails here, before anything is dropped.
      await this.files.write(this.name(seq), data);
      this.nextSeq++;
      this.index.push({ seq, size: data.byteLength, items: m.items ?? 1 });
      this.bytes += data.byteLength;
      while (this.index.length > this.limits.maxMessages || this.bytes > this.limits.maxBytes) {
        const head = this.index.shift()!;
        this.bytes -= head.size;
        await this.files.remove(this.name(head.seq));
        dropped++;
        droppedItems += head.items;
      }
      return { queued: true as const, seq, dropped, droppedItems };
    });
  }

  /** The first `n` messages, oldest first. */
  async peek(n: number): Promise<QueueEntry[]> {
    const out: QueueEntry[] = [];
    for (const { seq } of this.index.slice(0, n)) {
      const bytes = await this.files.read(this.name(seq));
      if (bytes === undefined) continue; // acked meanwhile
      try {
        out.push({ seq, ...decode(bytes) });
      } catch {
        await this.ack(seq);
      }
    }
    return out;
  }

  /** Removes a message the hub acknowledged. */
  ack(seq: number): Promise<void> {
    return this.serial(async () => {
      const i = this.index.findIndex((e) => e.seq === seq);
      if (i < 0) return;
      await this.files.remove(this.name(seq));
      this.bytes -= this.index[i]!.size;
      this.index.splice(i, 1);
    });
  }

  /** Whether a sequence number is still queued. */
  has(seq: number): boolean {
    return this.index.some((e) => e.seq === seq);
  }
}
