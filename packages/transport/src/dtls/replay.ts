/**
 * The anti-replay window of RFC 6347 §4.1.2.6: a record is accepted once, and only when it is
 * newer than the 64 records before the highest one received. Checked before the record is
 * authenticated, updated only after (so forged records cannot move the window).
 */
const WINDOW = 64n;

/** A 64-record sliding window over 48-bit sequence numbers (bigint bitmap, bit 0 = the highest). */
export class ReplayWindow {
  #top = -1n;
  #bits = 0n;

  /** Would a record with this sequence number be new? */
  fresh(seq: number): boolean {
    const s = BigInt(seq);
    if (s > this.#top) return true;
    const back = this.#top - s;
    if (back >= WINDOW) return false; // too old to tell apart from a replay
    return (this.#bits & (1n << back)) === 0n;
  }

  /** Marks an authenticated record as received. */
  accept(seq: number): void {
    const s = BigInt(seq);
    if (s > this.#top) {
      const shift = this.#top < 0n ? WINDOW : s - this.#top;
      this.#bits = shift >= WINDOW ? 1n : ((this.#bits << shift) | 1n) & ((1n << WINDOW) - 1n);
      this.#top = s;
      return;
    }
    this.#bits |= 1n << (this.#top - s);
  }
}
