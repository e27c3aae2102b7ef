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
}

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
    const c = this.#db
      .prepare('SELECT count(*) AS n, coalesce(sum(length(payload)), 0) AS b FROM uplink')
      .get() as { n: number; b: number };
    this.#count = c.n;
    this.#bytes = c.b;
    this.#insert = this.#db.prepare(
      `INSERT INTO uplink (id, device, channel, subtopic, content_type, payload)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#peek = this.#db.prepare(
      'SELECT seq, id, device, channel, subtopic, content_type, payload FROM uplink WHERE seq > ? ORDER BY seq LIMIT ?',
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

  /**
   * Accepts a message: resolves with its id once it is durable; rejects with QueueFullError at
   * once when the queue is full, or with the storage's error (disk full) after the commit failed.
   */
  add(m: NewMessage): Promise<string> {
    if (this.#count + 1 > this.limits.maxMessages)
      return Promise.reject(new QueueFullError('messages'));
    if (this.#bytes + m.payload.byteLength > this.limits.maxBytes)
      return Promise.reject(new QueueFullError('bytes'));
    this.#count++;
    this.#bytes += m.payload.byteLength;
    return new Promise((resolve, reject) => {
      this.#pending.push({ m, resolve, reject });
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
    const ids: string[] = [];
    try {
      this.#db.transaction(() => {
        for (const p of batch) {
          const id = newId();
          ids.push(id);
          const m = p.m;
          this.#insert.run(
            id,
            m.device,
            m.channel,
            m.subtopic,
            m.contentType ?? null,
            Buffer.from(m.payload),
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
    batch.forEach((p, i) => p.resolve(ids[i]!));
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
