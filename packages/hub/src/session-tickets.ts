/**
 * The hub's TLS session tickets (decision 0022): one ticket key shared by every node through the
 * database, sealed under the master key (core's SessionTicketKeys), installed on every TLS server
 * of this node (MQTT over TLS; HTTPS, which carries WSS and ingest) and swapped on rotation.
 */
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { SecretBox, SessionTicketKeys, type Clock, type Storage } from '@bulwark/core';

/** How often a node reads the ring (a rotation reaches it at most this late). */
const REFRESH_MS = 30_000;

/** The running ticket keys of a node. */
export interface SessionTickets {
  /** The key sealing tickets now (the servers' `ticketKeys` at start). */
  readonly key: Buffer;
  /** A ticket's lifetime in seconds (the servers' `sessionTimeout`). */
  readonly sessionTimeoutSeconds: number;
  /** Installs the current key on a server now and at every rotation. */
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
  let current = (await ring.current()).key;
  const servers: TlsServer[] = [];
  const refresh = async () => {
    const { key } = await ring.current();
    if (key.equals(current)) return;
    current = key;
    for (const s of servers) s.setTicketKeys(key);
    d.log.info('TLS session-ticket key rotated');
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
      servers.push(server);
      server.setTicketKeys(current);
    },
    refresh,
    stop: () => clearInterval(timer),
  };
}
