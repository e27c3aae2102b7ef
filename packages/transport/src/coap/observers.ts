/**
 * The observer list of RFC 7641 §4.1, bounded per client and in total, indexed by resource (for
 * fan-out), by endpoint + token (re-registration and deregistration, §4.1/§3.6) and by the
 * Message IDs of recent notifications (a Reset cancels, §3.6; an ACK ends a Confirmable one, §4.5).
 */
import type { ObserveWriteStream } from 'coap';
import type { CoapClient } from './hooks.js';
import type { ResourceRef } from './resource.js';

/** One registered observation. */
export interface Observer {
  client: CoapClient;
  ref: ResourceRef;
  resource: string;
  /** `address:port` of the observing endpoint. */
  endpoint: string;
  token: string;
  /** Only this Content-Format is sent (Accept at registration, RFC 7641 §4.2), if set. */
  accept: number | undefined;
  /** Preferred Block2 size exponent (RFC 7959 §2.4). */
  szx: number;
  stream: ObserveWriteStream;
  /** Last Observe sequence number sent (24-bit, RFC 7641 §4.4). */
  seq: number;
  lastConAt: number;
  /** Message ID of the Confirmable notification awaiting its ACK (one at a time, RFC 7641 §4.5.1). */
  pendingCon: number | undefined;
  /** When that Confirmable notification was sent. */
  pendingConAt: number;
  /** Message IDs of recent notifications, newest last. */
  mids: number[];
}

/** Why a registration was not added. */
export type AddRefusal = 'client_limit' | 'total_limit';

const RECENT_MIDS = 8; // a Reset usually answers one of the last few notifications

/** The bounded observer list. */
export class ObserverRegistry {
  readonly #byResource = new Map<string, Set<Observer>>();
  readonly #byToken = new Map<string, Observer>();
  readonly #byMid = new Map<string, Observer>();
  readonly #perClient = new Map<string, number>();

  constructor(private readonly limits: { maxObserversPerClient: number; maxObservers: number }) {}

  /** Observations registered. */
  get size(): number {
    return this.#byToken.size;
  }

  /** The observers of a resource (empty set when none). */
  of(resource: string): ReadonlySet<Observer> {
    return this.#byResource.get(resource) ?? EMPTY;
  }

  /** The observation an endpoint registered under a token, if any. */
  byToken(endpoint: string, token: string): Observer | undefined {
    return this.#byToken.get(`${endpoint}|${token}`);
  }

  /** The observer a notification Message ID belongs to, if any. */
  byMessageId(endpoint: string, mid: number): Observer | undefined {
    return this.#byMid.get(`${endpoint}/${mid}`);
  }

  /** Adds an observer, replacing one with the same endpoint + token (RFC 7641 §4.1). */
  add(o: Observer): AddRefusal | undefined {
    const old = this.byToken(o.endpoint, o.token);
    if (old !== undefined) this.remove(old);
    const n = this.#perClient.get(o.client.id) ?? 0;
    if (n >= this.limits.maxObserversPerClient) return 'client_limit';
    if (this.#byToken.size >= this.limits.maxObservers) return 'total_limit';
    this.#perClient.set(o.client.id, n + 1);
    this.#byToken.set(`${o.endpoint}|${o.token}`, o);
    let set = this.#byResource.get(o.resource);
    if (set === undefined) this.#byResource.set(o.resource, (set = new Set()));
    set.add(o);
    return undefined;
  }

  /** Records the Message ID a notification went out with. */
  sent(o: Observer, mid: number): void {
    o.mids.push(mid);
    this.#byMid.set(`${o.endpoint}/${mid}`, o);
    while (o.mids.length > RECENT_MIDS) {
      const old = o.mids.shift();
      if (old !== undefined && old !== o.pendingCon) this.#byMid.delete(`${o.endpoint}/${old}`);
    }
  }

  /** Removes an observer (idempotent); returns whether it was registered. */
  remove(o: Observer): boolean {
    const key = `${o.endpoint}|${o.token}`;
    if (this.#byToken.get(key) !== o) return false;
    this.#byToken.delete(key);
    const set = this.#byResource.get(o.resource);
    set?.delete(o);
    if (set?.size === 0) this.#byResource.delete(o.resource);
    const n = (this.#perClient.get(o.client.id) ?? 1) - 1;
    if (n <= 0) this.#perClient.delete(o.client.id);
    else this.#perClient.set(o.client.id, n);
    for (const mid of o.mids) this.#byMid.delete(`${o.endpoint}/${mid}`);
    if (o.pendingCon !== undefined) this.#byMid.delete(`${o.endpoint}/${o.pendingCon}`);
    return true;
  }

  /** Every observer (for close). */
  all(): Observer[] {
    return [...this.#byToken.values()];
  }
}

const EMPTY: ReadonlySet<Observer> = new Set();
