/**
 * The engine's sessions, keyed by the authenticated principal (`ClientIdentity.id`), never by a
 * client-chosen identifier: attaching a connection (resume or take-over, [MQTT-3.1.4-3]), going
 * live, settling a session when its connection goes (expiry, wills [MQTT-3.1.2-8],
 * [MQTT-3.1.3-9]), and ending it.
 */
import type { Connection } from './connection.js';
import type { Engine } from './engine.js';
import type { ClientIdentity } from './hooks.js';
import { attempt, isPromise, then } from './maybe.js';
import type { Message } from './message.js';
import { RC } from './reason-codes.js';
import { Session } from './session.js';

/** The sessions of one engine, live and offline. */
export class SessionTable {
  private readonly byKey = new Map<string, Session>();

  constructor(private readonly engine: Engine) {}

  /** Number of sessions held. */
  get size(): number {
    return this.byKey.size;
  }

  /** The session keyed `key`. */
  get(key: string): Session | undefined {
    return this.byKey.get(key);
  }

  /** Every session (a snapshot, safe to end sessions while iterating). */
  all(): Session[] {
    return [...this.byKey.values()];
  }

  /** True when a session keyed `key` exists or there is room for one more (`maxSessions`). */
  hasRoom(key: string): boolean {
    return this.byKey.has(key) || this.byKey.size < this.engine.limits.maxSessions;
  }

  /**
   * Bind an authenticated connection to its session ([MQTT-3.1.2-4]…[MQTT-3.1.2-6]), taking over
   * the connection that holds the same key ([MQTT-3.1.4-3]). The key is the principal
   * (`identity.id`), so only the same principal can resume or take over a session. The
   * connection is attached, not live: `goLive` follows once held subscriptions were authorized
   * again. Returns Session Present.
   */
  attach(conn: Connection, identity: ClientIdentity, clean: boolean, expiry: number): boolean {
    const key = identity.id;
    const existing = this.byKey.get(key);
    const holder = existing === undefined ? null : (existing.link ?? existing.attaching);
    if (holder !== null && holder !== conn) {
      // Take over: the old connection goes, with 0x8E for a v5 client that is live.
      (holder as Connection).fail(RC.SESSION_TAKEN_OVER, 'session_taken_over');
    }
    let session = this.byKey.get(key);
    let present = false;
    if (session !== undefined && clean) {
      // [MQTT-3.1.2-4] Clean Start discards the old session (its delayed will fires now).
      this.end(session);
      session = undefined;
    }
    if (session === undefined) {
      session = new Session(key, conn.clientId, identity, this.engine.limits, this.engine.counters);
      this.byKey.set(key, session);
    } else {
      present = true;
      if (session.expiryTimer !== null) clearTimeout(session.expiryTimer);
      session.expiryTimer = null;
      // [MQTT-3.1.3-9] Reconnecting within the Will Delay Interval cancels the will.
      if (session.willTimer !== null) clearTimeout(session.willTimer);
      session.willTimer = null;
      session.pendingWill = null;
      session.identity = identity;
      session.clientId = conn.clientId;
    }
    session.expiryInterval = expiry;
    session.attaching = conn;
    conn.session = session;
    this.engine.persistence?.attached(session);
    return present;
  }

  /** Add a session read back from the store (offline; it ends at its `expiresAt`). */
  install(session: Session): void {
    this.byKey.set(session.key, session);
    this.startExpiry(session);
  }

  /** The attached connection becomes the session's live link: deliveries flow from now on. */
  goLive(conn: Connection): void {
    const session = conn.session!;
    session.attaching = null;
    session.link = conn;
    if (session.expiresAt !== null) {
      // Went offline meanwhile (its previous connection closed during a take-over): live again.
      session.expiresAt = null;
      this.engine.persistence?.changed(session);
    }
  }

  /** A connection closed: settle its session (or, for a taken-over one, the will it owes). */
  connectionClosed(conn: Connection, why: string, wasConnected: boolean): void {
    const session = conn.session;
    if (!wasConnected && session !== null && session.attaching === conn) {
      // Gone before it went live (refused, taken over, cut): the session stays as it was.
      session.attaching = null;
      // Closing: the session leaves memory; a stored one stays in the store (decision 0020).
      if (session.expiryInterval === 0 || this.engine.isClosed) {
        this.end(session);
        return;
      }
      this.engine.persistence?.offline(session);
      this.startExpiry(session);
      return;
    }
    if (!wasConnected || session === null || session.link !== conn) {
      // A taken-over connection: the will is still owed ([MQTT-3.1.4-3] ends the old connection).
      if (wasConnected && conn.will !== null && !conn.cleanExit && conn.identity !== null) {
        this.publishWill(conn.identity, conn.will.msg);
      }
      return;
    }
    session.link = null;
    for (const w of [...session.waiters]) w(); // held publishers re-check (queue may now drain later)
    const will = conn.will !== null && !conn.cleanExit ? conn.will : null;
    const identity = conn.identity!;
    if (session.expiryInterval === 0 || this.engine.isClosed) {
      if (will !== null) this.publishWill(identity, will.msg); // [MQTT-3.1.2-8]
      this.end(session); // closing: a stored session stays in the store (decision 0020)
    } else {
      this.engine.persistence?.offline(session);
      if (will !== null) {
        const delay = Math.min(will.delaySeconds, session.expiryInterval);
        if (delay === 0) this.publishWill(identity, will.msg);
        else {
          // [MQTT-3.1.3-9] Publish after the Will Delay Interval or at session end, whichever first.
          session.pendingWill = { identity, msg: will.msg };
          session.willTimer = setTimeout(() => {
            session.willTimer = null;
            session.pendingWill = null;
            this.publishWill(identity, will.msg);
          }, delay * 1000);
          session.willTimer.unref();
        }
      }
      this.startExpiry(session);
    }
    this.engine.hooks.onDisconnect?.(identity, why, { clean: conn.cleanExit });
  }

  /** An offline session ends after its Session Expiry Interval unless a connection takes it up. */
  private startExpiry(session: Session): void {
    if (session.expiryTimer !== null) clearTimeout(session.expiryTimer);
    const ms =
      session.expiresAt !== null
        ? Math.max(0, session.expiresAt - Date.now())
        : session.expiryInterval * 1000;
    session.expiryTimer = setTimeout(() => {
      if (session.link === null && session.attaching === null) this.end(session);
    }, ms);
    session.expiryTimer.unref();
  }

  /** End a session: drop its subscriptions and queue, fire a delayed will still owed. */
  end(session: Session): void {
    if (this.byKey.get(session.key) === session) this.byKey.delete(session.key);
    this.engine.persistence?.ended(session);
    if (session.expiryTimer !== null) clearTimeout(session.expiryTimer);
    session.expiryTimer = null;
    if (session.willTimer !== null) {
      // A delayed will fires at the latest when the session ends ([MQTT-3.1.3-9]).
      clearTimeout(session.willTimer);
      session.willTimer = null;
      const w = session.pendingWill;
      if (w !== null) this.publishWill(w.identity, w.msg);
    }
    session.pendingWill = null;
    for (const sub of session.subs.values())
      this.engine.tree.remove(session, sub.filter, sub.group);
    session.subs.clear();
    const lost = session.clear();
    if (lost > 0) this.engine.countDrop('session_ended', lost);
  }

  /** Publish a will: authorized like any publish, then routed (and retained if asked). */
  publishWill(identity: ClientIdentity, msg: Message): void {
    const r = then(
      attempt(() => this.engine.hooks.authorizePublish(identity, msg.topic, msg.qos)),
      (code): void | Promise<void> => {
        if (code !== 0) {
          this.engine.denied(identity, 'publish', msg.topic, code, 'request');
          return;
        }
        const hooks = this.engine.hooks;
        const v = hooks.onPublish?.(identity, {
          topic: msg.topic,
          payload: msg.payload,
          qos: msg.qos,
          retain: msg.retain,
          ...(msg.props?.contentType !== undefined ? { contentType: msg.props.contentType } : {}),
          will: true,
        });
        return then(v, (verdict) => {
          if (verdict === false) return;
          if (msg.retain) this.engine.retain(msg);
          this.engine.route(msg);
        });
      },
    );
    if (isPromise(r)) {
      r.catch((err: unknown) =>
        this.engine.log.warn({ err, topic: msg.topic }, 'mqtt will not published'),
      );
    }
  }

  /**
   * Drop every session without wills or hooks (the engine is closing). Stored sessions stay in
   * the store (`Persistence.close` wrote them out first).
   */
  clear(): void {
    for (const s of this.byKey.values()) {
      if (s.expiryTimer !== null) clearTimeout(s.expiryTimer);
      if (s.willTimer !== null) clearTimeout(s.willTimer);
      s.clear();
    }
    this.byKey.clear();
  }
}
