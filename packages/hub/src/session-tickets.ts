/**
 * The hub's TLS session tickets (decision 0022): one ticket key shared by every node through the
 * database, sealed under the master key (core's SessionTicketKeys), installed on every TLS server
 * of this node (MQTT over TLS; HTTPS, which carries WSS and ingest) and swapped on rotation; the
 * previous key still opens the tickets it sealed until they expire (ticket-key-callback.ts).
 */
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { SecretBox, SessionTicketKeys, type Clock, type Storage } from '@bulwark/core';
import { serverTicketKeys, type ServerTicketKeys } from './ticket-key-callback.js';

/** How often a node reads the ring (a rotation reaches it at most this late). */
const REFRESH_MS = 30_000;

/** The running ticket keys of a node. */
export interface SessionTickets {
  /** The key sealing tickets now (the servers' `ticketKeys` at start). */
  readonly key: Buffer;
  /** A ticket's lifetime in seconds (the servers' `sessionTimeout`). */
  readonly sessionTimeoutSeconds: number;
  /**
   * Installs the current key (sealing) and the previous ones (opening their tickets until those
   * expire) on a server, now and at every rotation.
   */
  attach(server: TlsServer): void;
  /** Reads the ring once now (the timer does; tests too). */
  refresh(): Promise<void>;
  stop(): void;
}

/** Loads (or creates) the shared key and starts following its rotation. */
export async function startSessionTickets(d: {
  storage: Pick<Storage, 'system'>;
  masterKey: Buffer;
  clock: Clock;
  hours: number;
  log: Logger;
}): Promise<SessionTickets> {
  const periodMs = d.hours * 3600_000;
  const ring = new SessionTicketKeys({
    system: d.storage.system,
    box: new SecretBox(d.masterKey),
    clock: d.clock,
    periodMs,
  });
  let { key: current, previous } = await ring.current();
  const servers: ServerTicketKeys[] = [];
  const refresh = async () => {
    const next = await ring.current();
    const same = (a: readonly Buffer[], b: readonly Buffer[]) =>
      a.length === b.length && a.every((k, i) => k.equals(b[i]!));
    if (next.key.equals(current) && same(next.previous, previous)) return;
    const rotated = !next.key.equals(current);
    ({ key: current, previous } = next);
    for (const s of servers) s.set(current, previous);
    if (rotated) d.log.info('TLS session-ticket key rotated');
  };
  const timer = setInterval(
    () => {
      refresh().catch((err: unknown) => d.log.warn({ err }, 'TLS session-ticket keys'));
    },
    Math.min(REFRESH_MS, periodMs / 10),
  ).unref();
  return {
    get key() {
      return current;
    },
    sessionTimeoutSeconds: Math.floor(periodMs / 1000),
    attach(server) {
      const keys = serverTicketKeys(server, current, previous);
      if (!keys.multiKey)
        d.log.warn(
          'this Node has no multi-key TLS ticket callback: tickets sealed before a key rotation will not resume',
        );
      servers.push(keys);
    },
    refresh,
    stop: () => clearInterval(timer),
  };
}
