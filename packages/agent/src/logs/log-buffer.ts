/**
 * The bounded on-disk buffer of log batches (decision 0032): the outbox's DiskQueue under
 * `queue/logs/`, one file per batch, so it survives an agent restart and a hub outage. When full
 * it drops the oldest batches and counts the records they held; the count is kept on disk too
 * (`logs/dropped`) and rides on the next batch sent (`dropped`), and is cleared only once the
 * hub acknowledged that batch — so the hub learns of every loss, as a marker record.
 */
import { DEVICE_LOG_LIMITS, type DeviceLogBatch, type DeviceLogRecord } from '@bulwark/protocol';
import type { AgentFiles } from '../ports.js';
import { DiskQueue, type QueueEntry } from '../runtime/queue.js';

const DROPPED_FILE = 'logs/dropped';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Bounds of the buffer. */
export interface LogBufferLimits {
  maxBytes: number;
  maxBatches: number;
}

/** The on-disk buffer of log batches. */
export class LogBuffer {
  /** Records dropped (buffer full) and not yet reported to the hub. */
  #pendingDropped = 0;
  /** Records dropped since start (for status). */
  droppedTotal = 0;
  /** The batch that carries the dropped count while it is in flight: seq → count. */
  #carrying: { seq: number; count: number } | undefined;

  private constructor(
    private readonly files: AgentFiles,
    private readonly queue: DiskQueue,
    private readonly topic: () => string | undefined,
  ) {}

  /** Opens the buffer with what a previous run left (batches and the dropped count). */
  static async open(
    files: AgentFiles,
    limits: LogBufferLimits,
    topic: () => string | undefined,
  ): Promise<{ buffer: LogBuffer; corrupt: number }> {
    const q = await DiskQueue.open(files, 'queue/logs/', {
      maxMessages: limits.maxBatches,
      maxBytes: limits.maxBytes,
      overflow: 'drop-oldest',
    });
    const b = new LogBuffer(files, q.queue, topic);
    const saved = await files.read(DROPPED_FILE);
    const n = saved === undefined ? 0 : Number(dec.decode(saved));
    b.#pendingDropped = Number.isSafeInteger(n) && n > 0 ? n : 0;
    return { buffer: b, corrupt: q.corrupt };
  }

  get length(): number {
    return this.queue.length;
  }

  get sizeBytes(): number {
    return this.queue.sizeBytes;
  }

  /** Records dropped and not yet acknowledged by the hub. */
  get pendingDropped(): number {
    return this.#pendingDropped;
  }

  /**
   * Stores a batch of records durably (the topic is filled in at send time, so batches written
   * before enrollment still go to the device's own topic). Returns how many records were dropped
   * to make room.
   */
  async push(records: readonly DeviceLogRecord[], at: number): Promise<number> {
    if (records.length === 0) return 0;
    const body: DeviceLogBatch = { records: [...records] };
    const r = await this.queue.push({
      topic: '',
      payload: enc.encode(JSON.stringify(body)),
      contentType: 'application/json',
      qos: 1,
      at,
      items: records.length,
    });
    if (r.droppedItems > 0) {
      this.#pendingDropped += r.droppedItems;
      this.droppedTotal += r.droppedItems;
      await this.#saveDropped();
    }
    return r.droppedItems;
  }

  /**
   * The oldest `n` batches, ready to publish: the device's topic, and the dropped count added to
   * the first one. The outbox pumps one round at a time, so the batch that carries the count is
   * the one of the latest round (a round that failed carries it again in the next).
   */
  async peek(n: number): Promise<QueueEntry[]> {
    const topic = this.topic();
    if (topic === undefined) return [];
    const out = (await this.queue.peek(n)).map((e) => ({ ...e, topic }));
    const first = out[0];
    if (first !== undefined && this.#pendingDropped > 0) {
      const body = JSON.parse(dec.decode(first.payload)) as DeviceLogBatch;
      body.dropped = this.#pendingDropped;
      first.payload = enc.encode(JSON.stringify(body));
      this.#carrying = { seq: first.seq, count: this.#pendingDropped };
    }
    return out;
  }

  /** A batch the hub acknowledged (or refused for good): removed; its dropped count reported. */
  async ack(seq: number): Promise<void> {
    await this.queue.ack(seq);
    if (this.#carrying?.seq === seq) {
      this.#pendingDropped = Math.max(0, this.#pendingDropped - this.#carrying.count);
      this.#carrying = undefined;
      await this.#saveDropped();
    }
  }

  async #saveDropped(): Promise<void> {
    await this.files.write(DROPPED_FILE, enc.encode(String(this.#pendingDropped)));
  }
}

/** A record cut to the limits the hub enforces (message and source length). */
export function withinLimits(r: DeviceLogRecord): DeviceLogRecord {
  const L = DEVICE_LOG_LIMITS;
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  return {
    ...r,
    source: cut(r.source === '' ? 'unknown' : r.source, L.maxSourceChars),
    message: cut(r.message, L.maxMessageChars),
  };
}
