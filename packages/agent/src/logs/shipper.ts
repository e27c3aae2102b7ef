/**
 * The log shipper (decision 0032): gathers lines from the agent's own log, tailed files and the
 * journal; redacts secrets; applies the per-source rate limit (with a "suppressed N lines"
 * marker); batches them and writes each batch to the on-disk buffer, from which the outbox sends
 * it to `$devices/{id}/logs` at QoS 1 and removes it only after the hub's PUBACK (which the hub
 * sends once the batch is stored). Lines wait in memory at most `batch.flushMs` before they are
 * on disk; file positions and the journal cursor are saved only after the lines before them are.
 */
import { createHash } from 'node:crypto';
import type { DeviceLogRecord, LogLevel } from '@bulwark/protocol';
import type { AgentClock, AgentFiles } from '../ports.js';
import { FileTail, type TailPosition } from './file-tail.js';
import { JournalSource } from './journal.js';
import { withinLimits, type LogBuffer } from './log-buffer.js';
import type { LogsConfig } from './logs-config.js';
import { LogRateLimiter } from './rate-limit.js';
import { compileCustomPatterns, Redactor } from './redact.js';

/** What the shipper works with. */
export interface LogShipperDeps {
  config: LogsConfig;
  files: AgentFiles;
  clock: AgentClock;
  /** The on-disk buffer (the outbox opens it; undefined until it is open). */
  buffer(): LogBuffer | undefined;
  /** Batches were buffered: send them if the link is up (never brings a link up by itself). */
  buffered(): void;
  /** The agent's own log, for the shipper's own trouble (never shipped: no loops). */
  warn(msg: string): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const CURSOR_FILE = 'logs/journal-cursor';
const posFile = (path: string) =>
  `logs/pos/${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;

/** Agent log levels → record levels. */
const AGENT_LEVEL: Record<'debug' | 'info' | 'warn' | 'error', LogLevel> = {
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
};
const AGENT_RANK: Record<LogsConfig['agent'], number> = {
  off: -1,
  error: 3,
  warning: 4,
  info: 6,
  debug: 7,
};
const RANK: Record<LogLevel, number> = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** Ships the device's logs into the buffer. */
export class LogShipper {
  readonly #d: LogShipperDeps;
  readonly #redactor: Redactor;
  readonly #limiter: LogRateLimiter;
  #pending: DeviceLogRecord[] = [];
  #pendingBytes = 0;
  #tails: { tail: FileTail; saved: string | undefined }[] = [];
  #journal: JournalSource | undefined;
  #savedCursor: string | undefined;
  /** Reads the tailed files every `pollMs` (only when there are files). */
  #pollTimer: NodeJS.Timeout | undefined;
  /**
   * Set while records (or suppressed lines) wait: one timeout per batch, no timer at all for an
   * idle agent — the simulator runs thousands of them in one process.
   */
  #flushTimer: NodeJS.Timeout | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #polling = false;
  #running = false;
  /** Lines handed to the shipper, and the records it buffered (status, tests). */
  readonly counters = { lines: 0, buffered: 0 };

  constructor(d: LogShipperDeps) {
    this.#d = d;
    this.#redactor = new Redactor(compileCustomPatterns(d.config.redact));
    this.#limiter = new LogRateLimiter(
      d.config.rateLimit.linesPerSecond,
      d.config.rateLimit.burst,
      () => d.clock.now(),
    );
  }

  /** Lines suppressed by the rate limit since start. */
  get suppressed(): number {
    return this.#limiter.suppressedTotal;
  }

  /** Starts the sources (files, journal) and the flush timer. */
  async start(): Promise<void> {
    const c = this.#d.config;
    if (!c.enabled || this.#running) return;
    this.#running = true;
    for (const f of c.files) {
      const saved = await this.#d.files.read(posFile(f.path));
      let start: TailPosition | undefined;
      try {
        if (saved !== undefined) start = JSON.parse(dec.decode(saved)) as TailPosition;
      } catch {
        start = undefined;
      }
      const tail = new FileTail(f.path, (line) => this.#fileLine(f.source, f.level, line), {
        fromStart: f.fromStart,
        ...(start !== undefined ? { start } : {}),
      });
      this.#tails.push({ tail, saved: saved === undefined ? undefined : dec.decode(saved) });
    }
    if (c.journal.enabled) {
      const saved = await this.#d.files.read(CURSOR_FILE);
      this.#savedCursor = saved === undefined ? undefined : dec.decode(saved);
      this.#journal = new JournalSource({
        command: c.journal.command,
        units: c.journal.units,
        cursor: this.#savedCursor,
        onEntry: (e) => this.add(e.record, 'text'),
        log: (_level, msg) => this.#d.warn(msg),
      });
      this.#journal.start();
    }
    if (this.#tails.length > 0) {
      await this.#poll();
      this.#pollTimer = setInterval(() => void this.#poll(), c.pollMs);
      this.#pollTimer.unref();
    }
  }

  /** Stops the sources and writes what is pending to the buffer. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#pollTimer);
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#journal?.stop();
    await this.#poll(true);
    await this.flush();
    for (const t of this.#tails) await t.tail.close();
    this.#tails = [];
  }

  /** A line of the agent's own log. */
  agentLine(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    const c = this.#d.config;
    if (!c.enabled || !this.#running) return;
    const lv = AGENT_LEVEL[level];
    if (RANK[lv] > AGENT_RANK[c.agent]) return;
    this.add(
      { ts: new Date(this.#d.clock.now()).toISOString(), level: lv, source: 'agent', message: msg },
      'text',
    );
  }

  /**
   * One record from any source (the simulator feeds synthetic ones here): redacted, rate
   * limited, then batched. `mode` `line` keeps the multi-line private-key state of its source.
   */
  add(r: DeviceLogRecord, mode: 'line' | 'text' = 'text'): void {
    if (!this.#d.config.enabled) return;
    this.counters.lines++;
    const message =
      mode === 'line' ? this.#redactor.line(r.source, r.message) : this.#redactor.text(r.message);
    const gate = this.#limiter.admit(r.source);
    if (gate.marker) this.#push(this.#markerRecord(gate.marker));
    if (!gate.ok) {
      this.#schedule(); // the marker goes out once the source is quiet, if it does not resume
      return;
    }
    this.#push(
      withinLimits({
        ...r,
        message,
        ...(r.fields !== undefined ? { fields: this.#redactor.fields(r.fields) } : {}),
      }),
    );
  }

  /** Writes the pending records to the buffer as batches within the configured bounds. */
  flush(): Promise<void> {
    const run = this.#chain.then(() => this.#flushNow());
    this.#chain = run.catch((err: Error) => this.#d.warn(`log buffer: ${err.message}`));
    return run;
  }

  #fileLine(source: string, level: LogLevel, line: string): void {
    this.add(
      { ts: new Date(this.#d.clock.now()).toISOString(), level, source, message: line },
      'line',
    );
  }

  #markerRecord(m: {
    source: string;
    level: LogLevel;
    message: string;
    fields: { suppressed: number };
  }): DeviceLogRecord {
    return {
      ts: new Date(this.#d.clock.now()).toISOString(),
      level: m.level,
      source: m.source,
      message: m.message,
      fields: m.fields,
    };
  }

  #push(r: DeviceLogRecord): void {
    this.#pending.push(r);
    this.#pendingBytes += JSON.stringify(r).length + 1;
    const b = this.#d.config.batch;
    if (this.#pending.length >= b.maxRecords || this.#pendingBytes >= b.maxBytes) void this.flush();
    else this.#schedule();
  }

  /** A flush within `batch.flushMs`, unless one is already due. */
  #schedule(): void {
    if (this.#flushTimer !== undefined || !this.#running) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush();
    }, this.#d.config.batch.flushMs);
    this.#flushTimer.unref();
  }

  async #poll(final = false): Promise<void> {
    if (this.#polling && !final) return;
    this.#polling = true;
    try {
      for (const t of this.#tails)
        await t.tail
          .poll()
          .catch((err: Error) => this.#d.warn(`log file ${t.tail.path}: ${err.message}`));
    } finally {
      this.#polling = false;
    }
  }

  async #flushNow(): Promise<void> {
    for (const m of this.#limiter.sweep()) this.#pending.push(this.#markerRecord(m));
    if (this.#limiter.cutting()) this.#schedule(); // still over its rate: look again later
    const buffer = this.#d.buffer();
    if (buffer === undefined) return;
    // What the sources have read so far: saved once the lines before it are on disk.
    const positions = this.#tails.map((t) => ({ t, pos: t.tail.position() }));
    const cursor = this.#journal?.cursor;
    const records = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const b = this.#d.config.batch;
    let batch: DeviceLogRecord[] = [];
    let bytes = 0;
    const at = this.#d.clock.now();
    for (const r of records) {
      const size = JSON.stringify(r).length + 1;
      if (batch.length > 0 && (batch.length >= b.maxRecords || bytes + size > b.maxBytes)) {
        await buffer.push(batch, at);
        batch = [];
        bytes = 0;
      }
      batch.push(r);
      bytes += size;
    }
    if (batch.length > 0) await buffer.push(batch, at);
    this.counters.buffered += records.length;
    for (const { t, pos } of positions) {
      if (pos === undefined) continue;
      const text = JSON.stringify(pos);
      if (text === t.saved) continue;
      await this.#d.files.write(posFile(t.tail.path), enc.encode(text));
      t.saved = text;
    }
    if (cursor !== undefined && cursor !== this.#savedCursor) {
      await this.#d.files.write(CURSOR_FILE, enc.encode(cursor));
      this.#savedCursor = cursor;
    }
    if (records.length > 0) this.#d.buffered();
  }
}
