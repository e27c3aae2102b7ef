/**
 * The systemd journal as a log source (decision 0032): `journalctl -o json -f` as a child
 * process, its JSON lines parsed into records — MESSAGE (a string, or an array of bytes for a
 * message that is not valid UTF-8), PRIORITY (the syslog severity), SYSLOG_IDENTIFIER and
 * _SYSTEMD_UNIT (the source), __REALTIME_TIMESTAMP (microseconds) — and __CURSOR kept so a
 * restart goes on after the last entry buffered (`--after-cursor`). Without a saved cursor it
 * starts at the journal's end (`-n 0`). A child that exits is started again after a pause; a
 * missing `journalctl` is reported once and tried again rarely.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LOG_LEVELS, type DeviceLogRecord } from '@bulwark/protocol';

/** One journal entry, parsed. */
export interface JournalEntry {
  record: DeviceLogRecord;
  cursor: string | undefined;
}

const text = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  // journald writes a MESSAGE that is not valid UTF-8 (or holds control bytes) as an array of bytes.
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
    return Buffer.from(v as number[]).toString('utf8');
  return undefined;
};

/** Parses one line of `journalctl -o json`; undefined for a line that is not an entry. */
export function parseJournalLine(line: string): JournalEntry | undefined {
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return undefined;
  const o = e as Record<string, unknown>;
  const message = text(o['MESSAGE']);
  if (message === undefined) return undefined;
  const p = Number(text(o['PRIORITY']) ?? '6');
  const level = LOG_LEVELS[Number.isInteger(p) && p >= 0 && p <= 7 ? p : 6]!;
  const us = Number(text(o['__REALTIME_TIMESTAMP']));
  const ts = new Date(Number.isFinite(us) && us > 0 ? Math.floor(us / 1000) : Date.now());
  const unit = text(o['_SYSTEMD_UNIT']);
  const ident = text(o['SYSLOG_IDENTIFIER']);
  const comm = text(o['_COMM']);
  const fields: { [k: string]: string | number | boolean } = {};
  if (unit !== undefined) fields['unit'] = unit;
  if (ident !== undefined) fields['identifier'] = ident;
  const pid = Number(text(o['_PID']));
  if (Number.isInteger(pid) && pid > 0) fields['pid'] = pid;
  return {
    record: {
      ts: ts.toISOString(),
      level,
      source: `journal:${unit ?? ident ?? comm ?? 'unknown'}`,
      message,
      ...(Object.keys(fields).length > 0 ? { fields } : {}),
    },
    cursor: text(o['__CURSOR']),
  };
}

/** The arguments of `journalctl` for a follow from `cursor` (else from now), for these units. */
export function journalArgs(cursor: string | undefined, units: readonly string[]): string[] {
  return [
    '-o',
    'json',
    '-f',
    '--no-pager',
    ...(cursor !== undefined ? [`--after-cursor=${cursor}`] : ['-n', '0']),
    ...units.flatMap((u) => ['-u', u]),
  ];
}

/** Pauses before starting journalctl again: after it exited, and when it is not installed. */
const RESTART_MS = 5000;
const MISSING_RETRY_MS = 300_000;

/** A running `journalctl -f`, restarted when it exits, until `stop`. */
export class JournalSource {
  #child: ChildProcess | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #cursor: string | undefined;
  #warnedMissing = false;

  constructor(
    private readonly d: {
      /** Program and leading arguments (default `['journalctl']`). */
      command: readonly string[];
      units: readonly string[];
      /** Where the previous run stopped. */
      cursor: string | undefined;
      onEntry(e: JournalEntry): void;
      log(level: 'info' | 'warn', msg: string): void;
      /** Tests shorten the pauses. */
      restartMs?: number;
    },
  ) {
    this.#cursor = d.cursor;
  }

  /** The cursor of the last entry handed on. */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  start(): void {
    if (this.#stopped || this.#child) return;
    const [cmd, ...lead] = this.d.command;
    const child = spawn(cmd!, [...lead, ...journalArgs(this.#cursor, this.d.units)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 2000) stderr += b.toString('utf8');
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const e = parseJournalLine(line);
      if (e === undefined) return;
      if (e.cursor !== undefined) this.#cursor = e.cursor;
      this.d.onEntry(e);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      this.#child = null;
      if (err.code === 'ENOENT') {
        if (!this.#warnedMissing)
          this.d.log('warn', `journal: ${cmd} not found; the journal is not shipped`);
        this.#warnedMissing = true;
        this.#again(MISSING_RETRY_MS);
      } else {
        this.d.log('warn', `journal: ${err.message}`);
        this.#again(this.d.restartMs ?? RESTART_MS);
      }
    });
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = null;
      if (this.#stopped) return;
      this.d.log(
        'warn',
        `journal: ${cmd} exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim().slice(0, 300)}` : ''}; starting it again`,
      );
      this.#again(this.d.restartMs ?? RESTART_MS);
    });
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const c = this.#child;
    this.#child = null;
    c?.kill('SIGTERM');
  }

  #again(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.start(), ms);
    this.#timer.unref();
  }
}
