import { createServer, type Server } from 'node:net';
import tls from 'node:tls';
import { parsedPeerCertificates } from '@bulwark/core';
import type { MqttEngine } from '../mqtt/engine.js';
import { TLS_SERVER_POLICY } from '../tls-policy.js';
import { refuseBusy } from './busy-connack.js';
import {
  ConnectionGate,
  DEFAULT_GATE_LIMITS,
  type ConnectionGateLimits,
} from './connection-gate.js';

/** Options of the hub's MQTT-over-TLS listener. */
export interface MqttTlsOptions {
  port: number;
  host: string;
  key: string;
  cert: string;
  /**
   * Admits a presented client certificate (signature by the organization's CA, validity, live
   * revocation state, device state — the admission rule) and returns the principal; throws to
   * refuse. Called on every connection, a resumed TLS session included.
   */
  verify(subjectO: string, der: Uint8Array, remoteAddress: string): Promise<unknown>;
  /** Told about every refused certificate (for metrics and logs). */
  onRefused?(reason: string, remoteAddress: string): void;
  /**
   * The 48-byte session-ticket key shared by the hub's nodes (decision 0022); without it the
   * process makes its own and tickets do not survive a restart.
   */
  ticketKeys?: Buffer;
  /** How long a session ticket is honoured, in seconds (the ticket key's period). */
  sessionTimeoutSeconds?: number;
  /** Handshakes at once, waiting connections, and what happens past that (connection-gate.ts). */
  gate?: ConnectionGateLimits;
}

/** The running listener. */
export interface MqttTlsListener {
  /** The listening socket (its address, its close). */
  readonly server: Server;
  /** The TLS context the accepted connections handshake in (`setTicketKeys` on rotation). */
  readonly tls: tls.Server;
  readonly gate: ConnectionGate;
  /** Resumed and full handshakes since start. */
  handshakes(): { full: number; resumed: number };
  /**
   * Serves another certificate to new connections (a reload); open connections keep theirs, and
   * the session-ticket key in use stays. Throws, changing nothing, if the pair does not load.
   */
  setCredentials(c: { key: string; cert: string }): void;
}

/** Certificates this listener admitted (→ principal), so the authenticate hook need not again. */
export const verifiedCertificates = new WeakMap<Uint8Array, unknown>();

/** Binds every node's sessions to one context: tickets from another node or process resume. */
const SESSION_ID_CONTEXT = 'bulwark-mqtt-tls';

/**
 * MQTT over TLS (1.2 minimum). New connections pass a FIFO gate before their handshake (see
 * connection-gate.ts); past its queue they are told "server busy". Client certificates are
 * requested; a presented one is admitted right after the handshake — before a single MQTT byte
 * is read, on a resumed session too — and the connection is closed if it is unknown, expired,
 * not yet valid, from another CA or revoked. Clients without a certificate go on to
 * authenticate with a device key or API key in CONNECT.
 */
export function listenMqttTls(engine: MqttEngine, o: MqttTlsOptions): Promise<MqttTlsListener> {
  const gate = new ConnectionGate(o.gate ?? DEFAULT_GATE_LIMITS);
  const counts = { full: 0, resumed: 0 };
  // The gate's release per connection, by its address and port (the TLS socket the server makes
  // is not the raw socket the gate saw).
  const releases = new Map<string, () => void>();
  const keyOf = (x: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
    `${x.remoteAddress ?? '?'}|${x.remotePort ?? 0}`;
  const tlsServer = tls.createServer(
    {
      key: o.key,
      cert: o.cert,
      ...TLS_SERVER_POLICY,
      requestCert: true,
      rejectUnauthorized: false,
      sessionIdContext: SESSION_ID_CONTEXT,
      // A stalled handshake holds a gate slot only until the slot times out (5 s); it is closed
      // after 30 s (Node's default is 120 s), time enough for a few round trips on NB-IoT.
      handshakeTimeout: 30_000,
      ...(o.ticketKeys ? { ticketKeys: o.ticketKeys } : {}),
      ...(o.sessionTimeoutSeconds ? { sessionTimeout: o.sessionTimeoutSeconds } : {}),
    },
    (socket) => {
      // Half-open once the handshake is done (a TLS socket takes the setting of the raw socket
      // the gate handed over, and one leaving mid-handshake must close at once): the
      // acknowledgements of a client's last PUBLISHes still go out after its FIN (the engine
      // closes once they are done; decision record 0018).
      socket.allowHalfOpen = true;
      const release = releases.get(keyOf(socket)) ?? (() => undefined);
      if (socket.isSessionReused()) counts.resumed++;
      else counts.full++;
      socket.setNoDelay(true);
      const remoteAddress = socket.remoteAddress ?? 'unknown';
      // The X509Certificate form: getPeerCertificate() builds a whole object with three
      // fingerprints on every connect (~4× the CPU), and only the DER and the O are needed.
      const peer = socket.getPeerX509Certificate();
      if (!peer) {
        release();
        engine.handle(socket, { remoteAddress, listener: 'tls' });
        return;
      }
      const der = new Uint8Array(peer.raw);
      // Admission recognises the certificate from this parse rather than parsing it again.
      parsedPeerCertificates.set(der, peer);
      // A claim only: admission verifies the certificate against that organization's CA.
      const subjectO = /^O=(.*)$/m.exec(peer.subject)?.[1] ?? '';
      socket.pause();
      o.verify(subjectO, der, remoteAddress).then(
        (verified) => {
          release();
          // (a cached admission never took it: the parse must not live as long as the connection)
          parsedPeerCertificates.delete(der);
          if (socket.destroyed) return;
          verifiedCertificates.set(der, verified);
          engine.handle(socket, { remoteAddress, listener: 'tls', certificate: { der, subjectO } });
          socket.resume();
        },
        (err: unknown) => {
          release();
          parsedPeerCertificates.delete(der);
          o.onRefused?.(err instanceof Error ? err.message : 'refused', remoteAddress);
          socket.destroy();
        },
      );
    },
  );
  // A failed handshake is the client's problem; never let it reach the process.
  tlsServer.on('tlsClientError', (_err, socket) => releases.get(keyOf(socket))?.());
  const busyServer = tls.createServer(
    { key: o.key, cert: o.cert, ...TLS_SERVER_POLICY, handshakeTimeout: 5000 },
    refuseBusy,
  );
  busyServer.on('tlsClientError', () => undefined);
  const server = createServer((raw) => {
    raw.on('error', () => undefined);
    const decision = gate.enter(
      (release) => {
        const key = keyOf(raw);
        const done = () => {
          if (releases.get(key) === done) releases.delete(key);
          release();
        };
        releases.set(key, done);
        raw.once('close', done);
        // Documented injection point: the TLS server handshakes a stream emitted to it.
        tlsServer.emit('connection', raw);
      },
      () => raw.destroyed,
    );
    if (decision === 'closed') raw.destroy();
    else if (decision === 'busy') busyServer.emit('connection', raw);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve({
        server,
        tls: tlsServer,
        gate,
        handshakes: () => ({ ...counts }),
        setCredentials: ({ key, cert }) => {
          tls.createSecureContext({ key, cert }); // throws before either server changes
          tlsServer.setSecureContext({
            key,
            cert,
            ...TLS_SERVER_POLICY,
            sessionIdContext: SESSION_ID_CONTEXT,
            ...(o.sessionTimeoutSeconds ? { sessionTimeout: o.sessionTimeoutSeconds } : {}),
            // setSecureContext would fall back to the key given at creation, not the rotated one.
            ticketKeys: tlsServer.getTicketKeys(),
          });
          busyServer.setSecureContext({ key, cert, ...TLS_SERVER_POLICY });
        },
      });
    });
  });
}
