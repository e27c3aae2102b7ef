import { constants, randomUUID } from 'node:crypto';
import { TLS12_AEAD_CIPHERS } from '@bulwark/protocol';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { LocalPortHost } from '../ports.js';
import { openSerial, type SerialLink } from './serial.js';
import { DEFAULT_LOCAL_PORT_LIMITS, LocalSession, type LocalPortLimits } from './session.js';
import { UsedTickets } from './used-tickets.js';

/**
 * The local port's TLS policy (the agent's one place for it): TLS 1.2 minimum with only ECDHE +
 * AEAD suites (protocol's TLS12_AEAD_CIPHERS; 1.3 as Node has it), and no renegotiation — a
 * client-initiated one would cost the device a full handshake each time.
 */
const LOCAL_TLS_POLICY = {
  minVersion: 'TLSv1.2' as const,
  ciphers: TLS12_AEAD_CIPHERS,
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
};

/** The port the local management port listens on unless told otherwise. */
export const DEFAULT_LOCAL_PORT = 7443;

/** Options of LocalPortServer. */
export interface LocalPortOptions {
  host: LocalPortHost;
  /** TCP port; 0 picks a free one (tests). Default DEFAULT_LOCAL_PORT. */
  port?: number;
  /** Address to listen on (default all interfaces: the port is for the LAN). */
  bindAddress?: string;
  /** The serial peripheral `passthrough` forwards to (e.g. /dev/ttyUSB0); without it, refused. */
  serialDevice?: string;
  limits?: Partial<LocalPortLimits>;
  /** Opens the serial device (default: the tty/file opener in serial.ts). */
  openSerial?: (path: string) => Promise<SerialLink>;
}

/**
 * The device's local management port (issue 5 item 8): TLS 1.2+ with the device's own key and
 * certificate chain, admitting only holders of a one-time access ticket the hub issued, verified
 * offline. Every session is reported through `host.report` (the runtime forwards to the hub).
 */
export class LocalPortServer {
  readonly #opts: LocalPortOptions;
  readonly #limits: LocalPortLimits;
  readonly #used: UsedTickets;
  readonly #sessions = new Set<LocalSession>();
  #server: Server | undefined;

  constructor(opts: LocalPortOptions) {
    this.#opts = opts;
    this.#limits = { ...DEFAULT_LOCAL_PORT_LIMITS, ...opts.limits };
    this.#used = new UsedTickets(opts.host.files, opts.host.clock, this.#limits.clockSkewSeconds);
  }

  /** The bound port (after start). */
  get port(): number {
    const addr = this.#server?.address();
    if (!addr || typeof addr === 'string') throw new Error('the local port is not listening');
    return addr.port;
  }

  /** Sessions open right now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Loads the record of used tickets and starts listening. */
  async start(): Promise<void> {
    if (this.#server) throw new Error('the local port is already started');
    const { host } = this.#opts;
    const { recovered } = await this.#used.load();
    if (recovered) {
      host.report({
        kind: 'local_session',
        severity: 'warning',
        at: new Date(host.clock.now()).toISOString(),
        detail: {
          action: 'used_tickets_recovered',
          message: 'the record of used tickets was damaged: tickets issued before now are refused',
        },
      });
    }
    const creds = host.tlsCredentials();
    const server = createServer({
      key: creds.key,
      cert: creds.cert,
      // DESIGN.md §4: TLS 1.2 minimum, no weak suites, no renegotiation.
      ...LOCAL_TLS_POLICY,
      handshakeTimeout: this.#limits.handshakeTimeoutMs,
    });
    server.on('secureConnection', (socket) => this.#accept(socket));
    // A failed handshake (plain TCP, wrong protocol) concerns only that client.
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.port ?? DEFAULT_LOCAL_PORT, this.#opts.bindAddress, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
  }

  /** Serves renewed credentials to new connections (after a certificate renewal). */
  reloadCredentials(): void {
    const creds = this.#opts.host.tlsCredentials();
    // A new secure context starts from Node's defaults: the policy must come along, or the port
    // would offer CBC suites and renegotiation after every certificate renewal.
    this.#server?.setSecureContext({ key: creds.key, cert: creds.cert, ...LOCAL_TLS_POLICY });
  }

  /** Stops listening and closes every session (each reported as closed). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.#sessions) s.close('server_stopped');
    await Promise.all([...this.#sessions].map((s) => s.closed));
    await closing;
  }

  #accept(socket: TLSSocket): void {
    const { host } = this.#opts;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    if (this.#sessions.size >= this.#limits.maxSessions) {
      host.report({
        kind: 'local_session',
        severity: 'warning',
        at: new Date(host.clock.now()).toISOString(),
        detail: { action: 'refused', code: 'busy', remote },
      });
      socket.end(`ERR busy ${this.#limits.maxSessions} sessions are open; try again later\r\n`);
      return;
    }
    const session = new LocalSession(socket, {
      host,
      used: this.#used,
      limits: this.#limits,
      serialDevice: this.#opts.serialDevice,
      openSerial: this.#opts.openSerial ?? openSerial,
      id: randomUUID(),
      remote,
    });
    this.#sessions.add(session);
    void session.closed.then(() => this.#sessions.delete(session));
    socket.setTimeout(this.#limits.idleTimeoutMs, () => {
      socket.write('ERR idle_timeout no traffic for too long; closing\r\n');
      session.close('idle_timeout');
    });
    session.start();
  }
}
