/**
 * The gateway's durable uplink queue (decision 0040): SQLite in WAL mode with synchronous=FULL, so
 * a message a device was acknowledged for survives a crash or power cut. Messages arriving in one
 * event-loop turn are committed in one transaction (group commit). Bounded by messages and bytes:
 * when full, a new message is REFUSED (the device gets MQTT 0x97 Quota exceeded and keeps it);
 * nothing already accepted is ever dropped to make room.
 */
import Database from 'better-sqlite3';
import { newId } from '@bulwark/core';

export interface NewMessage {
  device: string;
  channel: string;
  subtopic: string;
  contentType: string | undefined;
  payload: Uint8Array;
  /** Its id when the caller needs it before the commit (rules.ts); else made at `add`. */
  id?: string;
  /** QUEUE_RULED, QUEUE_FIRING (rules at the site, rules.ts); 0 or absent for neither. */
  flags?: number;
}

/** A channel message the gateway evaluated the site's rules on. */
export const QUEUE_RULED = 1;
/** Not a device's message: a RuleFiring document (rules.ts). */
export const QUEUE_FIRING = 2;

export interface QueuedMessage extends NewMessage {
  seq: number;
  /** UUIDv7 given at acceptance: the hub stores the message under it. */
  id: string;
}

export class QueueFullError extends Error {
  constructor(readonly limit: 'messages' | 'bytes') {
    super(`the gateway's queue is full (${limit})`);
  }
}

interface Pending {
  m: NewMessage;
  id: string;
  resolve: (id: string) => void;
  reject: (err: Error) => void;
}

export class UplinkQueue {
  readonly #db: Database.Database;
  #count = 0;
  #bytes = 0;
  /** Accepted but not yet committed (counted against the limits). */
  #pending: Pending[] = [];
  #flushScheduled = false;
  readonly #insert: Database.Statement;
  readonly #peek: Database.Statement;
  readonly #remove: Database.Statement;
  readonly #rangeBytes: Database.Statement;

  constructor(
    file: string,
    private readonly limits: { maxMessages: number; maxBytes: number },
  ) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS uplink (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      device TEXT NOT NULL,
      channel TEXT NOT NULL,
      subtopic TEXT NOT NULL,
      content_type TEXT,
      payload BLOB NOT NULL
    )`);
    // Queues made before rules ran at the site lack the flags (every old row: 0).
    const cols = this.#db.prepare('PRAGMA table_info(uplink)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'flags'))
      this.#db.exec('ALTER TABLE uplink ADD COLUMN flags INTEGER NOT NULL DEFAULT 0');
    const c = this.#db
      .prepare('SELECT count(*) AS n, coalesce(sum(length(payload)), 0) AS b FROM uplink')
      .get() as { n: number; b: number };
    this.#count = c.n;
    this.#bytes = c.b;
    this.#insert = this.#db.prepare(
      `INSERT INTO uplink (id, device, channel, subtopic, content_type, payload, flags)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#peek = this.#db.prepare(
      'SELECT seq, id, device, channel, subtopic, content_type, payload, flags FROM uplink WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.#remove = this.#db.prepare('DELETE FROM uplink WHERE seq BETWEEN ? AND ?');
    this.#rangeBytes = this.#db.prepare(
      'SELECT count(*) AS n, coalesce(sum(length(payload)), 0) AS b FROM uplink WHERE seq BETWEEN ? AND ?',
    );
  }

  /** Messages held (committed and being committed). */
  get size(): { messages: number; bytes: number } {
    return { messages: this.#count, bytes: this.#bytes };
  }

  /** Would a message of `bytes` fit now (`add` refuses it otherwise)? */
  fits(bytes: number): boolean {
    return (
      this.#count + 1 <= this.limits.maxMessages && this.#bytes + bytes <= this.limits.maxBytes
    );
  }

  /**
   * Accepts a message: resolves with its id once it is durable; rejects with QueueFullError at
   * once when the queue is full, or with the storage's error (disk full) after the commit failed.
   * `overLimit`: taken even when full (a rule's firing that goes with a message just accepted:
   * small, and at most one per rule and device a minute). Ids are made here, in `add` order.
   */
  add(m: NewMessage, overLimit = false): Promise<string> {
    if (!overLimit && this.#count + 1 > this.limits.maxMessages)
      return Promise.reject(new QueueFullError('messages'));
    if (!overLimit && this.#bytes + m.payload.byteLength > this.limits.maxBytes)
      return Promise.reject(new QueueFullError('bytes'));
    this.#count++;
    this.#bytes += m.payload.byteLength;
    const id = m.id ?? newId();
    return new Promise((resolve, reject) => {
      this.#pending.push({ m, id, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    try {
      this.#db.transaction(() => {
        for (const p of batch) {
          const m = p.m;
          this.#insert.run(
            p.id,
            m.device,
            m.channel,
            m.subtopic,
            m.contentType ?? null,
            Buffer.from(m.payload),
            m.flags ?? 0,
          );
        }
      })();
    } catch (err) {
      for (const p of batch) {
        this.#count--;
        this.#bytes -= p.m.payload.byteLength;
        p.reject(err as Error);
      }
      return;
    }
    for (const p of batch) p.resolve(p.id);
  }

  /** Up to `limit` committed messages after `afterSeq`, oldest first, within `maxBytes`. */
  peek(afterSeq: number, limit: number, maxBytes: number): QueuedMessage[] {
    const rows = this.#peek.all(afterSeq, limit) as {
      seq: number;
      id: string;
      device: string;
      channel: string;
      subtopic: string;
      content_type: string | null;
      payload: Buffer;
      flags: number;
    }[];
    const out: QueuedMessage[] = [];
    let bytes = 0;
    for (const r of rows) {
      bytes += r.payload.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push({
        seq: r.seq,
        id: r.id,
        device: r.device,
        channel: r.channel,
        subtopic: r.subtopic,
        contentType: r.content_type ?? undefined,
        payload: r.payload,
        flags: r.flags,
      });
    }
    return out;
  }

  /** Removes the messages with seq in [from, to] (a batch the hub acknowledged). */
  remove(from: number, to: number): void {
    const c = this.#rangeBytes.get(from, to) as { n: number; b: number };
    this.#remove.run(from, to);
    this.#count -= c.n;
    this.#bytes -= c.b;
  }

  close(): void {
    this.#flush();
    this.#db.close();
  }
}
