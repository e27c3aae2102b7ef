/**
 * Admission control for a listener's new connections (decision 0022): at most `concurrent` of
 * them are in their TLS handshake and admission at once, the rest wait in arrival order, and
 * past `queue` waiting a newcomer is turned away — told "server busy" while that costs little
 * (`busyPerSecond`), else closed. A reconnect storm is then served first come, first served at
 * the rate the CPU allows, instead of every handshake crawling at once until clients time out.
 *
 * A slot is held from the start of the handshake until the caller releases it (admitted,
 * refused, closed) or `slotMs` passes: a client that stalls mid-handshake delays the queue by
 * at most that long.
 */

/** The limits of a gate; every one bounds memory or CPU under a flood. */
export interface ConnectionGateLimits {
  /** Handshakes + admissions in progress at once (CPU: each is ~1–2 ms of a core). */
  concurrent: number;
  /** Connections waiting for a slot (memory: an idle socket each; latency: queue ÷ rate). */
  queue: number;
  /** A slot is taken back after this long, whatever the connection is doing. */
  slotMs: number;
  /** Refusals answered with "server busy" per second; past that a newcomer is just closed. */
  busyPerSecond: number;
}

/**
 * A slot is held for the handshake's round trips, so `concurrent` ÷ the clients' round-trip time
 * bounds the rate: 512 serves 500 connects/s even at a 1 s RTT, while 512 × ~2 ms of CPU each
 * keeps a newcomer's handshake well inside a device's connect timeout (the agent's is 10 s).
 * 10,000 waiting ≈ 10 s of full handshakes on two cores.
 */
export const DEFAULT_GATE_LIMITS: ConnectionGateLimits = {
  concurrent: 512,
  queue: 10_000,
  slotMs: 5000,
  busyPerSecond: 100,
};

/** What the gate decided for a newcomer. */
export type GateDecision = 'queued' | 'busy' | 'closed';

/** The gate's figures (metrics). */
export interface GateStats {
  active: number;
  waiting: number;
  /** Since start: turned away with "server busy", closed without an answer. */
  busy: number;
  closed: number;
}

/** A FIFO gate. `enter` calls `start` now or later, in arrival order, with a release function. */
export class ConnectionGate {
  #active = 0;
  readonly #waiting: { start: (release: () => void) => void; gone: () => boolean }[] = [];
  #head = 0;
  #busy = 0;
  #closed = 0;
  #bucket: { second: number; used: number } = { second: 0, used: 0 };

  constructor(
    readonly limits: ConnectionGateLimits = DEFAULT_GATE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Queues a newcomer. `gone()` says it left while waiting (its slot is not used). Returns
   * 'busy' (answer it "server busy") or 'closed' (close it) when the queue is full.
   */
  enter(start: (release: () => void) => void, gone: () => boolean): GateDecision {
    if (this.waiting() >= this.limits.queue) {
      const second = Math.floor(this.now() / 1000);
      if (this.#bucket.second !== second) this.#bucket = { second, used: 0 };
      if (this.#bucket.used < this.limits.busyPerSecond) {
        this.#bucket.used++;
        this.#busy++;
        return 'busy';
      }
      this.#closed++;
      return 'closed';
    }
    this.#waiting.push({ start, gone });
    this.#next();
    return 'queued';
  }

  stats(): GateStats {
    return {
      active: this.#active,
      waiting: this.waiting(),
      busy: this.#busy,
      closed: this.#closed,
    };
  }

  waiting(): number {
    return this.#waiting.length - this.#head;
  }

  #next(): void {
    while (this.#active < this.limits.concurrent && this.#head < this.#waiting.length) {
      const w = this.#waiting[this.#head]!;
      this.#head++;
      if (w.gone()) continue;
      this.#active++;
      let released = false;
      const timer = setTimeout(() => release(), this.limits.slotMs);
      timer.unref();
      const release = () => {
        if (released) return;
        released = true;
        clearTimeout(timer);
        this.#active--;
        this.#next();
      };
      w.start(release);
    }
    // Compact the consumed head now and then, so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
