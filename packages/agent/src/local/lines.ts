/** Byte-level helpers of the local port's line protocol: line splitting and the `~.` escape. */

const LF = 0x0a;
const CR = 0x0d;
const TILDE = 0x7e;
const DOT = 0x2e;

/**
 * Splits a byte stream into lines (LF or CRLF; the terminator is dropped), handed out one at a
 * time so the caller can switch to raw bytes after any line. A line longer than `maxBytes` is an
 * error, never a silently truncated command.
 */
export class LineSplitter {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes: number) {}

  /** Appends bytes. */
  push(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
  }

  /** The next complete line, or undefined when none is buffered yet. */
  next(): string | undefined {
    const nl = this.#pending.indexOf(LF);
    if (nl === -1) return undefined;
    const end = nl > 0 && this.#pending[nl - 1] === CR ? nl - 1 : nl;
    const line = this.#pending.subarray(0, end).toString('utf8');
    this.#pending = this.#pending.subarray(nl + 1);
    return line;
  }

  /** Is a line (complete or still arriving) longer than allowed? */
  get overflowed(): boolean {
    const nl = this.#pending.indexOf(LF);
    return (nl === -1 ? this.#pending.length : nl) > this.maxBytes;
  }

  /** Takes what is buffered (e.g. when switching to raw bytes). */
  drain(): Buffer {
    const rest = this.#pending;
    this.#pending = Buffer.alloc(0);
    return rest;
  }
}

/**
 * Watches raw pass-through bytes for a line that is exactly `~.` (as ssh's escape, but only as a
 * whole line, LF or CRLF): bytes are forwarded unchanged except that line, which ends pass-through.
 * Holds back at most the 3 bytes of a possible escape until it knows.
 */
export class EscapeScanner {
  #atLineStart = true;
  #held: number[] = [];

  /** Feeds client bytes: what to forward, and whether the escape ended pass-through (then `rest` follows it). */
  push(chunk: Buffer): { forward: Buffer; escaped: boolean; rest: Buffer } {
    const out: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] ?? 0;
      const h = this.#held;
      if (h.length === 0) {
        if (this.#atLineStart && b === TILDE) {
          h.push(b);
          continue;
        }
      } else if (h.length === 1 && b === DOT) {
        h.push(b);
        continue;
      } else if (h.length === 2 && b === CR) {
        h.push(b);
        continue;
      } else if (h.length >= 2 && b === LF) {
        this.#held = [];
        this.#atLineStart = true;
        return { forward: Buffer.from(out), escaped: true, rest: chunk.subarray(i + 1) };
      } else {
        out.push(...h);
        this.#held = [];
      }
      out.push(b);
      this.#atLineStart = b === LF || b === CR;
    }
    return { forward: Buffer.from(out), escaped: false, rest: Buffer.alloc(0) };
  }
}
