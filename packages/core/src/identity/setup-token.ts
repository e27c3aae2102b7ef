/**
 * The one-time setup token of a hub without users (DESIGN.md §4): made at start, printed once,
 * stored hashed in the system table, consumed by a compare-and-set so of two racing setups only
 * one wins.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { SystemStore } from '../ports/storage.js';
import { randomToken, safeEqual, sha256Hex } from '../shared/hash.js';

const SETUP_KEY = 'setup_token';

interface SetupRecord {
  hash: string;
  expiresAt: number;
  usedAt: number | null;
}

/** Issues, consumes and retires the setup token. */
export class SetupTokens {
  constructor(private readonly d: { system: SystemStore; clock: Clock; ttlSeconds: number }) {}

  /** A new token (replacing any earlier one), for printing once. */
  async issue(): Promise<{ token: string; expiresAt: number }> {
    const token = `bws_${randomToken(24)}`;
    const expiresAt = this.d.clock.now() + this.d.ttlSeconds * 1000;
    const rec: SetupRecord = { hash: sha256Hex(token), expiresAt, usedAt: null };
    await this.d.system.put(SETUP_KEY, JSON.stringify(rec));
    return { token, expiresAt };
  }

  /**
   * Checks a presented token; `consume` then marks it used. Split in two so the caller can do its
   * own checks (password policy, hashing) between them without spending the token on a refusal.
   * @throws BulwarkError setup_token_invalid | setup_token_used | setup_token_expired
   */
  async check(token: string): Promise<{ consume(): Promise<void> }> {
    const raw = await this.d.system.get(SETUP_KEY);
    const rec = raw === undefined ? undefined : (JSON.parse(raw) as SetupRecord);
    if (!rec || !safeEqual(rec.hash, sha256Hex(token)))
      throw new BulwarkError('setup_token_invalid');
    if (rec.usedAt !== null) throw new BulwarkError('setup_token_used');
    if (rec.expiresAt <= this.d.clock.now()) {
      throw new BulwarkError(
        'setup_token_expired',
        'the setup token has expired; restart the hub for a new one',
      );
    }
    return {
      consume: async () => {
        const used: SetupRecord = { ...rec, usedAt: this.d.clock.now() };
        if (!(await this.d.system.compareAndSet(SETUP_KEY, raw, JSON.stringify(used))))
          throw new BulwarkError('setup_token_used');
      },
    };
  }

  /** Kills a pending token (an owner was made another way, so it must not make a second one). */
  async retire(): Promise<void> {
    const raw = await this.d.system.get(SETUP_KEY);
    const rec = raw === undefined ? undefined : (JSON.parse(raw) as SetupRecord);
    if (rec && rec.usedAt === null) {
      await this.d.system.compareAndSet(
        SETUP_KEY,
        raw,
        JSON.stringify({ ...rec, usedAt: this.d.clock.now() }),
      );
    }
  }
}
