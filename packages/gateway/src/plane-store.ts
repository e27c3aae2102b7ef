/**
 * What the hub sent the gateway for its site devices (decision 0040, amendment "device plane"),
 * kept durably (SQLite, `plane.db`, synchronous=FULL) until the device has it: the latest desired
 * twin per device (handed out again on every subscription, as the hub's retained message is), and
 * commands and update offers until the device answers them. A command past its deadline is never
 * handed out: it is dropped (the hub marks it expired by the same deadline). Bounded by rows; when
 * full, answered rows go first, and a new message that still does not fit is refused (the hub sends
 * it again on the device's next session).
 */
import Database from 'better-sqlite3';
import type { DevicePlaneKind } from '@bulwark/protocol';

/** One message held for a device. */
export interface HeldMessage {
  device: string;
  kind: DevicePlaneKind;
  /** The command or job id ('' for the desired twin). */
  param: string;
  payload: Uint8Array;
  /** Not after this (ms since the epoch; 0: no deadline). */
  deadline: number;
}

/** Answered update offers are kept this long, so a resent offer is not run twice. */
const ANSWERED_KEEP_MS = 7 * 24 * 3600_000;

export class PlaneStore {
  readonly #db: Database.Database;
  readonly #get: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #pending: Database.Statement;
  readonly #answer: Database.Statement;
  readonly #count: Database.Statement;
  /** Commands dropped at their deadline without reaching the device. */
  expired = 0;

  constructor(
    file: string,
    private readonly maxRows: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS downlink (
      device TEXT NOT NULL,
      kind TEXT NOT NULL,
      param TEXT NOT NULL,
      payload BLOB NOT NULL,
      deadline INTEGER NOT NULL,
      answered INTEGER NOT NULL DEFAULT 0,
      received INTEGER NOT NULL,
      PRIMARY KEY (device, kind, param)
    )`);
    this.#get = this.#db.prepare(
      'SELECT payload, answered FROM downlink WHERE device = ? AND kind = ? AND param = ?',
    );
    this.#insert = this.#db.prepare(
      `INSERT OR REPLACE INTO downlink (device, kind, param, payload, deadline, answered, received)
       VALUES (?, ?, ?, ?, ?, 0, ?)`,
    );
    this.#pending = this.#db.prepare(
      `SELECT device, kind, param, payload, deadline FROM downlink
       WHERE device = ? AND answered = 0 ORDER BY received, rowid`,
    );
    this.#answer = this.#db.prepare(
      'UPDATE downlink SET answered = 1 WHERE device = ? AND kind = ? AND param = ?',
    );
    this.#count = this.#db.prepare('SELECT count(*) AS n FROM downlink');
  }

  /**
   * Keeps a message from the hub. A command already held (or answered) stays as it is — the hub
   * sends a queued command again on every new session; an update offer replaces the one of its
   * job when it differs (an offer, then a cancel request); a desired twin replaces the last.
   * False: refused, the store is full.
   */
  put(m: HeldMessage): boolean {
    const cur = this.#get.get(m.device, m.kind, m.param) as
      { payload: Buffer; answered: number } | undefined;
    if (cur && m.kind === 'command') return true;
    if (cur && m.kind === 'updateOffer' && Buffer.from(m.payload).equals(cur.payload)) return true;
    if (!cur && this.size >= this.maxRows) {
      this.prune();
      if (this.size >= this.maxRows) return false;
    }
    this.#insert.run(m.device, m.kind, m.param, Buffer.from(m.payload), m.deadline, this.now());
    return true;
  }

  /** What to hand device `device` now, oldest first; commands past their deadline are dropped. */
  pending(device: string): HeldMessage[] {
    const now = this.now();
    const rows = this.#pending.all(device) as (Omit<HeldMessage, 'payload'> & {
      payload: Buffer;
    })[];
    const out: HeldMessage[] = [];
    for (const r of rows) {
      if (r.deadline !== 0 && r.deadline <= now) {
        this.#drop(r);
        continue;
      }
      out.push({ ...r, payload: new Uint8Array(r.payload) });
    }
    return out;
  }

  /** The device answered this command or job: it is not handed out again. */
  answered(device: string, kind: DevicePlaneKind, param: string): void {
    this.#answer.run(device, kind, param);
  }

  get size(): number {
    return (this.#count.get() as { n: number }).n;
  }

  /** Drops expired commands and answered rows that need keeping no longer. */
  prune(): void {
    const now = this.now();
    const expired = this.#db
      .prepare(
        `SELECT device, kind, param FROM downlink WHERE answered = 0 AND deadline != 0 AND deadline <= ?`,
      )
      .all(now) as { device: string; kind: string; param: string }[];
    for (const r of expired) this.#drop(r);
    this.#db
      .prepare(
        `DELETE FROM downlink WHERE answered = 1 AND
           ((deadline != 0 AND deadline <= ?) OR (deadline = 0 AND received <= ?))`,
      )
      .run(now, now - ANSWERED_KEEP_MS);
  }

  close(): void {
    this.#db.close();
  }

  #drop(r: { device: string; kind: string; param: string }): void {
    // An unanswered command at its deadline: never run; kept answered so a resend stays unrun.
    this.#answer.run(r.device, r.kind, r.param);
    this.expired++;
  }
}
