import type { Logger } from 'pino';
import {
  mayUse,
  requirePlane,
  type Bus,
  type EdgePrincipal,
  type LiveSessions,
  type Unsubscribe,
} from '@bulwark/core';
import { startCoapServer, type CoapClient, type CoapServer } from '@bulwark/transport';
import type { HubConfig } from './config.js';
import type { HubMetrics } from './metrics.js';
import type { HubServices } from './services.js';

/**
 * Starts CoAP (RFC 7252, UDP) when the operator asked for it: device-key authentication, ingest
 * through the same messaging path as every protocol, and Observe subscriptions fed from the bus.
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
    log: {
      warn: (o, m) => log.warn(o, m),
      info: (o, m) => log.info(o, m),
      debug: (o, m) => log.debug(o, m),
    },
    hooks: {
      // The admission rule (a refused key is an auth.failed event, counted by the edge wiring).
      async authenticate(deviceId, secret, source) {
        const p = await services.admission.admit({
          credential: { kind: 'device_key', deviceId, secret },
          transport: 'coap',
          source,
          claims: { deviceId },
        });
        return { type: 'device', id: p.id, orgId: p.orgId, principal: p };
      },
      async ingest(client, m) {
        requirePlane(principalOf(client), 'channels');
        await services.messaging.ingest(client, { ...m, protocol: 'coap' });
      },
      canSubscribe: async (client, channelId) =>
        mayUse(principalOf(client), 'channels') &&
        services.messaging.canSubscribe(client, channelId),
    },
  });
  log.warn(
    { port: server.port, host: config.coapHost },
    'CoAP is enabled WITHOUT transport security (no DTLS yet): device keys and payloads cross the network in clear text — use it only on trusted networks',
  );
  const unsubscribe: Unsubscribe = await d.bus.subscribe((env) =>
    server.deliver({
      channelId: env.channelId,
      subtopic: env.subtopic,
      contentType: env.contentType,
      payload: env.payload,
    }),
  );
  d.metrics.gauge(
    'bulwark_coap_observers',
    'Registered CoAP observations',
    [],
    () => server.stats().observers,
  );
  // Access changes end observations: CoAP has no session to cut, each request is admitted anew.
  const live: LiveSessions = {
    cut: (match) => server.endObservations((c) => match(principalOf(c)), '4.01'),
    reauthorize: (match) => server.reauthorize((c) => match(principalOf(c))),
  };
  return {
    server,
    live,
    async stop() {
      await unsubscribe();
      await server.close();
    },
  };
}

/** The principal the hub's authenticate hook admitted the client as. */
function principalOf(c: CoapClient): EdgePrincipal {
  return c.principal as EdgePrincipal;
}
