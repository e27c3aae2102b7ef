import type { Server } from 'node:net';
import tls from 'node:tls';
import type { MqttEngine } from '../mqtt/engine.js';
import { TLS_SERVER_POLICY } from '../tls-policy.js';

/** Options of the hub's MQTT-over-TLS listener. */
export interface MqttTlsOptions {
  port: number;
  host: string;
  key: string;
  cert: string;
  /**
   * Admits a presented client certificate (signature by the organization's CA, validity, live
   * revocation state, device state — the admission rule) and returns the principal; throws to
   * refuse.
   */
  verify(subjectO: string, der: Uint8Array, remoteAddress: string): Promise<unknown>;
  /** Told about every refused certificate (for metrics and logs). */
  onRefused?(reason: string, remoteAddress: string): void;
}

/** Certificates this listener admitted (→ principal), so the authenticate hook need not again. */
export const verifiedCertificates = new WeakMap<Uint8Array, unknown>();

/**
 * MQTT over TLS (1.2 minimum). Client certificates are requested; a presented one is verified right
 * after the handshake — before a single MQTT byte is read — and the connection is closed if it is
 * unknown, expired, not yet valid, from another CA or revoked. Clients without a certificate go on
 * to authenticate with a device key or API key in CONNECT.
 */
export function listenMqttTls(engine: MqttEngine, o: MqttTlsOptions): Promise<tls.Server> {
  const server = tls.createServer(
    {
      key: o.key,
      cert: o.cert,
      ...TLS_SERVER_POLICY,
      requestCert: true,
      rejectUnauthorized: false,
      // Half-open: acknowledgements of a client's last PUBLISHes still go out after its FIN
      // (the engine closes once they are done; decision record 0018).
      allowHalfOpen: true,
    },
    (socket) => {
      socket.setNoDelay(true);
      const remoteAddress = socket.remoteAddress ?? 'unknown';
      const peer = socket.getPeerCertificate();
      if (!peer || !peer.raw) {
        engine.handle(socket, { remoteAddress, listener: 'tls' });
        return;
      }
      const der = new Uint8Array(peer.raw);
      const o_ = peer.subject?.O;
      const subjectO = (Array.isArray(o_) ? o_[0] : o_) ?? '';
      socket.pause();
      o.verify(subjectO, der, remoteAddress).then(
        (verified) => {
          if (socket.destroyed) return;
          verifiedCertificates.set(der, verified);
          engine.handle(socket, { remoteAddress, listener: 'tls', certificate: { der, subjectO } });
          socket.resume();
        },
        (err: unknown) => {
          o.onRefused?.(err instanceof Error ? err.message : 'refused', remoteAddress);
          socket.destroy();
        },
      );
    },
  );
  // A failed handshake is the client's problem; never let it reach the process.
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server as Server).listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
