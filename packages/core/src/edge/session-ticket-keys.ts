/**
 * TLS session-ticket keys shared by every node of a hub (decision 0022): a device that reconnects
 * after a restart — or to another node — resumes its TLS session (RFC 8446 §2.2, RFC 5077)
 * instead of paying for a full mutual-TLS handshake. The keys live in the system store, sealed
 * under the master key like every other secret at rest; the store's compare-and-set makes one
 * node's rotation every node's.
 *
 * Each key is active for `periodMs` from its `from` time. The successor is written as soon as a
 * key becomes active, so every node already holds it when its time comes and all switch on their
 * own clocks without asking the database. A ticket is honoured for one period (the servers'
 * `sessionTimeout`), so a key sealed its last tickets at the end of its period and still opens
 * them for one more: the ring keeps the previous key(s) for that long, for decryption only (a
 * ticket opened with one is answered with a fresh ticket under the active key).
 *
 * Resumption skips the certificate chain, not admission: the listener still admits the peer
 * certificate the session carries on every connect (revocation, expiry, device state).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../ports/clock.js';
import type { SystemStore } from '../ports/storage.js';
import type { SecretBox } from '../shared/secret-box.js';

/** The system-store key of the sealed ring. */
export const SESSION_TICKET_KEYS = 'tls_session_ticket_keys';
/** The sealing context (bound as AES-GCM additional data). */
const CONTEXT = 'tls-session-ticket-keys';
/** Node's ticket key: 16 bytes key name, 16 bytes HMAC secret, 16 bytes AES key. */
export const TICKET_KEY_BYTES = 48;
/** TLS 1.3 caps a ticket's lifetime at seven days (RFC 8446 §4.6.1). */
export const MAX_TICKET_PERIOD_MS = 7 * 24 * 3600_000;

interface StoredKey {
  from: number;
  key: string;
}

/** One ticket key and the time it becomes the one sealing new tickets. */
export interface SessionTicketKey {
  from: number;
  key: Buffer;
}

/** What the ring needs. */
export interface SessionTicketKeyDeps {
  system: SystemStore;
  box: SecretBox;
  clock: Clock;
  /** How long each key seals (and opens) tickets; at most MAX_TICKET_PERIOD_MS. */
  periodMs: number;
}

/** The shared, sealed, rotating ticket keys. */
export class SessionTicketKeys {
  constructor(private readonly d: SessionTicketKeyDeps) {
    if (!(d.periodMs >= 60_000 && d.periodMs <= MAX_TICKET_PERIOD_MS))
      throw new Error('the session-ticket key period must be between 1 minute and 7 days');
  }

  /**
   * The key sealing tickets now (creating it, and its successor, when missing or due), and when
   * it stops. Safe to call from every node at once: the store's compare-and-set decides.
   */
  async current(): Promise<{ key: Buffer; until: number; previous: Buffer[] }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.d.system.get(SESSION_TICKET_KEYS);
      const now = this.d.clock.now();
      const keys = raw === undefined ? [] : this.#open(raw);
      const next = this.#ensure(keys, now);
      const active = next.at(-2)!;
      if (next !== keys) {
        const sealed = this.#seal(next);
        if (!(await this.d.system.compareAndSet(SESSION_TICKET_KEYS, raw, sealed))) continue;
      }
      return {
        key: active.key,
        until: active.from + this.d.periodMs,
        previous: next.slice(0, -2).map((k) => k.key),
      };
    }
    throw new Error('the session-ticket keys kept changing under this node; try again');
  }

  /**
   * [...previous, active, successor]: the previous keys are those whose last tickets are still
   * within their lifetime (one period after the key's own). The same array when nothing changed.
   */
  #ensure(keys: SessionTicketKey[], now: number): SessionTicketKey[] {
    const p = this.d.periodMs;
    const active = keys.filter((k) => k.from <= now && now < k.from + p).at(-1) ?? this.#fresh(now);
    const previous = keys.filter((k) => k.from < active.from && now < k.from + 2 * p);
    const successor = keys.find((k) => k.from === active.from + p) ?? this.#fresh(active.from + p);
    const next = [...previous, active, successor];
    return next.length === keys.length && next.every((k, i) => k === keys[i]) ? keys : next;
  }

  #fresh(from: number): SessionTicketKey {
    return { from, key: randomBytes(TICKET_KEY_BYTES) };
  }

  #seal(keys: SessionTicketKey[]): string {
    const stored: StoredKey[] = keys.map((k) => ({ from: k.from, key: k.key.toString('base64') }));
    return this.d.box.seal(JSON.stringify(stored), CONTEXT);
  }

  /** @throws when the row was sealed under another master key (a node of another cluster). */
  #open(sealed: string): SessionTicketKey[] {
    let text: string;
    try {
      text = this.d.box.open(sealed, CONTEXT).toString('utf8');
    } catch {
      throw new Error(
        'the stored TLS session-ticket keys do not open with this master key: every node of a hub needs the same master key',
      );
    }
    const stored = JSON.parse(text) as StoredKey[];
    return stored
      .map((k) => ({ from: k.from, key: Buffer.from(k.key, 'base64') }))
      .filter((k) => k.key.length === TICKET_KEY_BYTES)
      .sort((a, b) => a.from - b.from);
  }
}
