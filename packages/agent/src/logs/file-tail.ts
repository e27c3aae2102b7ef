/**
 * Tails one log file (decision 0032), by polling: new complete lines are handed on as they are
 * appended. Rotation is followed — when the path names another file (a new inode: `mv` +
 * re-create, logrotate's default) the old file is read to its end first, then the new one from
 * its start — and so is truncation (`copytruncate`: the file shrank below the position read, so
 * reading starts again at 0). The position (inode and offset) is saved by the shipper once the
 * lines before it are in the on-disk buffer, so a restart goes on where it stopped, neither
 * losing nor repeating lines; a file seen for the first time is read from its end unless
 * `fromStart`.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';

/** Where a tail stands in its file. */
export interface TailPosition {
  ino: number;
  offset: number;
}

/** Bytes read per poll at most (the rest waits for the next poll): bounds memory and CPU. */
const MAX_READ_PER_POLL = 1024 * 1024;
/** A line longer than this is cut and handed on in pieces (a file without newlines). */
const MAX_LINE_BYTES = 64 * 1024;
const CHUNK = 64 * 1024;
/** Bytes compared to tell a truncated-and-rewritten file from one that only grew. */
const MARK_BYTES = 32;

/** One tailed file. */
export class FileTail {
  #fh: FileHandle | null = null;
  #ino = -1;
  #offset = 0;
  /** Bytes of a line not yet ended by a newline. */
  #partial: Buffer = Buffer.alloc(0);
  /**
   * The last bytes read before `#offset`: if they changed, the file was truncated and written
   * again past our position between two polls (its size alone would not tell).
   */
  #mark: Buffer = Buffer.alloc(0);
  #closed = false;

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly opts: { fromStart?: boolean; start?: TailPosition } = {},
  ) {}

  /** Where the next complete line starts (what to save). */
  position(): TailPosition | undefined {
    return this.#ino < 0
      ? undefined
      : { ino: this.#ino, offset: this.#offset - this.#partial.length };
  }

  /** Reads what was appended since the last poll (also follows rotation and truncation). */
  async poll(): Promise<void> {
    if (this.#closed) return;
    let st;
    try {
      st = await stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Gone (rotated away, not yet re-created): finish the file we hold; wait for the new one.
      if (this.#fh) await this.#drainAndClose();
      return;
    }
    if (this.#fh !== null && st.ino !== this.#ino) {
      await this.#drainAndClose(); // rotated: the rest of the old file first
    }
    if (this.#fh === null) {
      this.#fh = await open(this.path, 'r');
      const opened = await this.#fh.stat();
      const s = this.opts.start;
      const first = this.#ino === -1;
      this.#ino = opened.ino;
      this.#partial = Buffer.alloc(0);
      if (first && s !== undefined && s.ino === opened.ino && s.offset <= opened.size)
        this.#offset = s.offset; // where the previous run stopped
      else if (first && s === undefined && !this.opts.fromStart) this.#offset = opened.size;
      else this.#offset = 0; // a new file after rotation, or a saved position that is gone
      this.#mark = Buffer.alloc(0);
      st = opened;
    }
    if (st.size < this.#offset || !(await this.#markHolds())) {
      // Truncated in place (copytruncate): start again at its beginning.
      this.#offset = 0;
      this.#partial = Buffer.alloc(0);
      this.#mark = Buffer.alloc(0);
    }
    await this.#read(MAX_READ_PER_POLL);
  }

  /** Stops; a line without its newline is handed on as it is. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#fh) {
      await this.#fh.close().catch(() => undefined);
      this.#fh = null;
    }
  }

  async #markHolds(): Promise<boolean> {
    const n = this.#mark.length;
    if (n === 0 || this.#fh === null) return true;
    const b = Buffer.alloc(n);
    const { bytesRead } = await this.#fh.read(b, 0, n, this.#offset - n);
    return bytesRead === n && b.equals(this.#mark);
  }

  async #drainAndClose(): Promise<void> {
    await this.#read(Number.MAX_SAFE_INTEGER);
    if (this.#partial.length > 0) this.#emit(this.#partial);
    this.#partial = Buffer.alloc(0);
    await this.#fh?.close().catch(() => undefined);
    this.#fh = null;
  }

  async #read(budget: number): Promise<void> {
    const fh = this.#fh;
    if (fh === null) return;
    const buf = Buffer.allocUnsafe(CHUNK);
    let left = budget;
    while (left > 0) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, left), this.#offset);
      if (bytesRead === 0) break;
      this.#offset += bytesRead;
      left -= bytesRead;
      const got = buf.subarray(0, bytesRead);
      this.#mark = Buffer.from(
        bytesRead >= MARK_BYTES
          ? got.subarray(bytesRead - MARK_BYTES)
          : Buffer.concat([this.#mark, got]).subarray(-MARK_BYTES),
      );
      this.#take(got);
    }
  }

  #take(bytes: Buffer): void {
    let data =
      this.#partial.length > 0 ? Buffer.concat([this.#partial, bytes]) : Buffer.from(bytes);
    for (;;) {
      const nl = data.indexOf(0x0a);
      if (nl < 0) break;
      this.#emit(data.subarray(0, nl));
      data = data.subarray(nl + 1);
    }
    while (data.length >= MAX_LINE_BYTES) {
      this.#emit(data.subarray(0, MAX_LINE_BYTES));
      data = data.subarray(MAX_LINE_BYTES);
    }
    this.#partial = Buffer.from(data);
  }

  #emit(line: Buffer): void {
    const text = line.toString('utf8').replace(/\r$/, '');
    if (text !== '') this.onLine(text);
  }
}
