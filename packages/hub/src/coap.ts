import type { Logger } from 'pino';
import type { Bus, LiveSessions, Unsubscribe } from '@bulwark/core';
import {
  coapLiveSessions,
  hubCoapHooks,
  startCoapServer,
  type CoapLogger,
  type CoapServer,
} from '@bulwark/transport';
import type { HubConfig } from './config.js';
import type { HubMetrics } from './metrics.js';
import type { HubServices } from './services.js';

/**
 * Starts CoAP (RFC 7252, UDP) when the operator asked for it, with the hub's hooks (the admission
 * rule, ingest through the one messaging path) and Observe subscriptions fed from the bus.
 * It has no transport security until DTLS arrives, so the hub says so loudly at start.
 */
export async function startCoap(d: {
  config: HubConfig;
  services: HubServices;
  bus: Bus;
  log: Logger;
  metrics: HubMetrics;
}): Promise<
  { server: CoapServer & { port: number }; live: LiveSessions; stop(): Promise<void> } | undefined
> {
  const { config, services, log } = d;
  if (config.coapPort === null) return undefined;
  const server = await startCoapServer({
    port: config.coapPort,
    host: config.coapHost,
    maxPayloadBytes: config.maxPayloadBytes,
    log: coapLogger(log),
    hooks: hubCoapHooks(services),
  });
  log.warn(
    { port: server.port, host: config.coapHost },
    'CoAP is enabled WITHOUT transport security (no DTLS yet): device keys and payloads cross the network in clear text — use it only on trusted networks',
  );
  const unsubscribe = await observeFromBus(d.bus, server);
  d.metrics.gauge(
    'bulwark_coap_observers',
    'Registered CoAP observations',
    [],
    () => server.stats().observers,
  );
  const live = coapLiveSessions(server);
  return {
    server,
    live,
    async stop() {
      await unsubscribe();
      await server.close();
    },
  };
}

/** The CoAP servers' log, on the hub's. */
export function coapLogger(log: Logger): CoapLogger {
  return {
    warn: (o, m) => log.warn(o, m),
    info: (o, m) => log.info(o, m),
    debug: (o, m) => log.debug(o, m),
  };
}

/** Feeds a CoAP server's Observe subscriptions from the bus (plain CoAP and CoAP over DTLS alike). */
export function observeFromBus(
  bus: Bus,
  server: Pick<CoapServer, 'deliver'>,
): Promise<Unsubscribe> {
  return bus.subscribe((env) =>
    server.deliver({
      channelId: env.channelId,
      subtopic: env.subtopic,
      contentType: env.contentType,
      payload: env.payload,
    }),
  );
}
