import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { MqttEngine } from '../mqtt/engine.js';
import { isRelayPath } from '../http/relay.js';

/**
 * MQTT over WebSocket on an existing HTTP(S) server at `path` (subprotocol `mqtt`, binary frames),
 * feeding the same engine as TCP and TLS. Applications authenticate with an API key as the MQTT
 * password; a device may also present its certificate on the HTTPS handshake.
 */
export function attachMqttWebSocket(
  server: Server,
  engine: MqttEngine,
  opts: { path: string; maxPayload: number },
): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayload,
    handleProtocols: (protocols) =>
      protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
  });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== opts.path) {
      // The remote-access relay upgrades on its own path (http/relay.ts).
      if (!isRelayPath(req.url)) socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const tlsSocket = req.socket as Partial<TLSSocket>;
      tlsSocket.setNoDelay?.(true);
      const peer = tlsSocket.getPeerCertificate?.();
      const o = peer?.subject?.O;
      const subjectO = Array.isArray(o) ? o[0] : o;
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      engine.handle(stream, {
        remoteAddress: req.socket.remoteAddress ?? 'unknown',
        listener: 'ws',
        ...(peer?.raw
          ? { certificate: { der: new Uint8Array(peer.raw), ...(subjectO ? { subjectO } : {}) } }
          : {}),
      });
    });
  };
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const c of wss.clients) c.terminate();
    wss.close();
  };
}
