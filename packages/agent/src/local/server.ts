import { constants, randomUUID } from 'node:crypto';
import { TLS12_AEAD_CIPHERS } from '@bulwark/protocol';
import { createServer, TLSSocket, type Server } from 'node:tls';
import type { Socket } from 'node:net';
import type { TunnelOffer } from '@bulwark/protocol';
import type { LocalPortHost } from '../ports.js';
import { openSerial, type SerialLink } from './serial.js';
import { DEFAULT_LOCAL_PORT_LIMITS, LocalSession, type LocalPortLimits } from './session.js';
import { TunnelSession } from './tunnel-session.js';
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
  /** Listen on the LAN (default true); false serves relayed tunnels only. */
  listen?: boolean;
  /** Loopback TCP ports a `tcp:PORT` tunnel may reach (remoteAccess.tcpPorts). */
  tunnelPorts?: readonly number[];
}

/** Why the device does not dial a tunnel offer. */
export class TunnelOfferRefused extends Error {
  override readonly name = 'TunnelOfferRefused';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
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
  readonly #sessions = new Set<{ close(reason: string): void; closed: Promise<void> }>();
  #server: Server | undefined;
  #started = false;

  constructor(opts: LocalPortOptions) {
    this.#opts = opts;
    this.#limits = { ...DEFAULT_LOCAL_PORT_LIMITS, ...opts.limits };
    this.#used = new UsedTickets(opts.host.files, opts.host.clock, this.#limits.clockSkewSeconds);
  }

  /** The bound port (after start with listen). */
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
    if (this.#started) throw new Error('the local port is already started');
    this.#started = true;
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
    if (this.#opts.listen === false) return;
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
    if (!this.#started) return;
    this.#started = false;
    const server = this.#server;
    this.#server = undefined;
    const closing = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    for (const s of this.#sessions) s.close('server_stopped');
    await Promise.all([...this.#sessions].map((s) => s.closed));
    await closing;
  }

  /**
   * Serves a remote-access session the hub offered (decision 0042): checks the offer, dials the
   * relay with `dial`, runs the server side of TLS with the device's own certificate inside the
   * relayed stream (the CLI pins it; the hub sees ciphertext only), then the local protocol or the
   * raw target behind the ticket. Rejects with TunnelOfferRefused for an offer it will not dial.
   */
  async acceptTunnel(offer: TunnelOffer, dial: () => Promise<Socket>): Promise<void> {
    const { host } = this.#opts;
    const refuse = (code: string, message: string) => {
      host.report({
        kind: 'local_session',
        severity: 'warning',
        at: new Date(host.clock.now()).toISOString(),
        detail: { action: 'tunnel_refused', code, relaySession: offer.id, target: offer.target },
      });
      return new TunnelOfferRefused(code, message);
    };
    if (!this.#started) throw refuse('not_started', 'the local services are not running');
    if (Date.parse(offer.expiresAt) <= host.clock.now())
      throw refuse('offer_expired', 'the tunnel offer has expired');
    if (offer.target === 'serial' && this.#opts.serialDevice === undefined)
      throw refuse('target_unavailable', 'this device has no serial peripheral configured');
    if (offer.target.startsWith('tcp:')) {
      const port = Number(offer.target.slice(4));
      if (!(this.#opts.tunnelPorts ?? []).includes(port))
        throw refuse('target_not_allowed', `port ${port} is not in remoteAccess.tcpPorts`);
    }
    if (this.#sessions.size >= this.#limits.maxSessions)
      throw refuse('busy', `${this.#limits.maxSessions} sessions are open`);
    const raw = await dial();
    const creds = host.tlsCredentials();
    const tls = new TLSSocket(raw, {
      isServer: true,
      key: creds.key,
      cert: creds.cert,
      ...LOCAL_TLS_POLICY,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        tls.destroy();
        reject(refuse('handshake_timeout', 'no TLS handshake inside the tunnel in time'));
      }, this.#limits.handshakeTimeoutMs);
      tls.once('secure', () => {
        clearTimeout(timer);
        resolve();
      });
      tls.once('error', (err: Error) => {
        clearTimeout(timer);
        tls.destroy();
        reject(refuse('handshake_failed', err.message));
      });
      tls.once('close', () => {
        clearTimeout(timer);
        reject(refuse('handshake_failed', 'the relay closed before the handshake'));
      });
    });
    const remote = `relay:${offer.id}`;
    if (offer.target === 'local') return this.#accept(tls, remote);
    const session = new TunnelSession(tls, {
      host,
      used: this.#used,
      limits: this.#limits,
      target: offer.target,
      openSerial: () => (this.#opts.openSerial ?? openSerial)(this.#opts.serialDevice ?? ''),
      id: randomUUID(),
      remote,
    });
    this.#sessions.add(session);
    void session.closed.then(() => this.#sessions.delete(session));
    tls.setTimeout(this.#limits.idleTimeoutMs, () => session.close('idle_timeout'));
    session.start();
  }

  #accept(socket: TLSSocket, relayed?: string): void {
    const { host } = this.#opts;
    const remote = relayed ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
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
