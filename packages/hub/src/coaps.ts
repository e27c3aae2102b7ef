import type { Logger } from 'pino';
import type { Bus, LiveSessions } from '@bulwark/core';
import {
  coapLiveSessions,
  hubCoapHooks,
  startCoapsServer,
  type CoapsServer,
} from '@bulwark/transport';
import { coapLogger, observeFromBus } from './coap.js';
import {
  dtlsAuthHooks,
  dtlsCertificateJudge,
  dtlsRawKeyJudge,
  dtlsServerCredential,
} from './dtls-auth.js';
import type { HubConfig } from './config.js';
import type { HubMetrics } from './metrics.js';
import type { ServerTls } from './server-tls.js';
import type { HubServices } from './services.js';

/**
 * Starts CoAP over DTLS (decision 0041) when the operator gave it a port: with PSK the handshake
 * takes the key of a PSK identity from the sealed store; with a certificate (ECDHE-ECDSA) it
 * serves the hub's server certificate and admits the device's as MQTT's mutual TLS does. Every
 * request is admitted again by the one rule. Observations are fed from the bus like plain CoAP's.
 */
export async function startCoaps(d: {
  config: HubConfig;
  services: HubServices;
  bus: Bus;
  log: Logger;
  metrics: HubMetrics;
  /** The hub's TLS server certificate (its key must be ECDSA P-256, or DTLS gets its own). */
  served: Pick<ServerTls, 'key' | 'cert'>;
}): Promise<{ server: CoapsServer; live: LiveSessions; stop(): Promise<void> } | undefined> {
  const { config, services, log } = d;
  if (config.coapsPort === null) return undefined;
  const server = await startCoapsServer({
    port: config.coapsPort,
    host: config.coapsHost,
    maxPayloadBytes: config.maxPayloadBytes,
    log: coapLogger(log),
    hooks: hubCoapHooks(services),
    psk: async (identity) => {
      const p = await services.devicePsks.resolve(identity);
      return p === undefined ? undefined : { key: p.key, ref: p.ref };
    },
    ...dtlsAuthHooks(services),
    certificates: {
      credential: await dtlsServerCredential(d.served, config, services.pki),
      verify: dtlsCertificateJudge(services),
      verifyRawKey: dtlsRawKeyJudge(services),
    },
  });
  const unsubscribe = await observeFromBus(d.bus, server);
  d.metrics.gauge(
    'bulwark_coaps_sessions',
    'Established DTLS associations',
    [],
    () => server.dtlsStats().sessions,
  );
  d.metrics.gauge(
    'bulwark_coaps_handshakes',
    'DTLS handshakes in progress',
    [],
    () => server.dtlsStats().handshakes,
  );
  d.metrics.gauge(
    'bulwark_coaps_handshakes_total',
    'DTLS handshakes completed since start: full, or resumed from a cached session (RFC 5246 §7.3)',
    ['kind'],
    () => {
      const s = server.dtlsStats();
      return { full: s.handshakesCompleted - s.handshakesResumed, resumed: s.handshakesResumed };
    },
  );
  d.metrics.gauge(
    'bulwark_coaps_handshakes_throttled',
    'ClientHellos dropped since start because their source failed authentication too often',
    [],
    () => server.dtlsStats().handshakesThrottled,
  );
  return {
    server,
    live: coapLiveSessions(server),
    async stop() {
      await unsubscribe();
      await server.close();
    },
  };
}
