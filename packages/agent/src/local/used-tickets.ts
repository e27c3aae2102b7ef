import type { AgentClock, AgentFiles } from '../ports.js';

/** Where the ids of used tickets are kept, so a reboot does not make a used ticket valid again. */
export const USED_TICKETS_FILE = 'local/used-tickets.json';

/**
 * The ids of tickets this device has admitted, each until its expiry (plus the clock-skew
 * allowance): after that the ticket is refused as expired anyway, so the id is dropped.
 * `claim` is synchronous against the in-memory set, so two sessions racing with one ticket cannot
 * both pass, and persists before it resolves, so the ticket is on disk before the session opens.
 */
export class UsedTickets {
  /** jti → exp (seconds since the epoch). */
  #used = new Map<string, number>();
  #loaded = false;
  #issuedBefore = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly files: AgentFiles,
    private readonly clock: AgentClock,
    private readonly skewSeconds: number,
  ) {}

  /**
   * Reads the persisted ids. A file that cannot be parsed is not trusted as "nothing used": every
   * ticket issued before now is then treated as used (`issuedBefore`), so a lost record can never
   * make a used ticket work again; tickets issued from now on work as usual.
   */
  async load(): Promise<{ recovered: boolean }> {
    const data = await this.files.read(USED_TICKETS_FILE);
    this.#used.clear();
    let recovered = false;
    if (data !== undefined) {
      try {
        const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
          throw new Error('not an object');
        const { used, issuedBefore } = parsed as { used?: unknown; issuedBefore?: unknown };
        if (used === null || typeof used !== 'object' || Array.isArray(used))
          throw new Error('no used map');
        for (const [jti, exp] of Object.entries(used as Record<string, unknown>)) {
          if (typeof exp !== 'number') throw new Error('bad entry');
          this.#used.set(jti, exp);
        }
        if (typeof issuedBefore === 'number') this.#issuedBefore = issuedBefore;
      } catch {
        this.#used.clear();
        this.#issuedBefore = Math.floor(this.clock.now() / 1000) + this.skewSeconds;
        recovered = true;
      }
    }
    this.#loaded = true;
    if (recovered) await this.#persist();
    return { recovered };
  }

  /**
   * Tickets issued (iat, seconds) before this are treated as used: set when the record of used
   * tickets was found damaged. 0 when the record is intact.
   */
  get issuedBefore(): number {
    return this.#issuedBefore;
  }

  /** Has this ticket id been admitted before? */
  has(jti: string): boolean {
    return this.#used.has(jti);
  }

  /**
   * Marks a ticket used. Returns false (and changes nothing) when it already was. Rejects when the
   * id cannot be persisted; the id stays marked in memory, so the ticket is refused either way.
   */
  async claim(jti: string, exp: number): Promise<boolean> {
    if (!this.#loaded) throw new Error('UsedTickets.load() was not called');
    if (this.#used.has(jti)) return false;
    this.#used.set(jti, exp);
    await this.#persist();
    return true;
  }

  /** How many ids are kept (after pruning). */
  get size(): number {
    return this.#used.size;
  }

  #persist(): Promise<void> {
    // Writes are chained so a slow write never lands after a newer one.
    const next = this.#writing.then(async () => {
      const now = Math.floor(this.clock.now() / 1000);
      for (const [jti, exp] of this.#used) {
        if (exp + this.skewSeconds < now) this.#used.delete(jti);
      }
      const body = JSON.stringify({
        used: Object.fromEntries(this.#used),
        ...(this.#issuedBefore > 0 ? { issuedBefore: this.#issuedBefore } : {}),
      });
      await this.files.write(USED_TICKETS_FILE, Buffer.from(body), { secret: true });
    });
    this.#writing = next.catch(() => undefined);
    return next;
  }
}
