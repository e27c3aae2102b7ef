/**
 * Starts the LwM2M 1.1 server (decision 0043) when the operator asked for it: core's
 * `Lwm2mService` on the hub's services, driven by transport's plain-CoAP wire. Endpoints register
 * without a credential (no DTLS yet), so the hub says loudly that this is for trusted networks.
 */
import type { Logger } from 'pino';
import {
  Lwm2mService,
  type Clock,
  type LiveSessions,
  type Lwm2mFirmwareUrls,
  type Storage,
} from '@bulwark/core';
import { startLwm2mServer, type Lwm2mServer } from '@bulwark/transport';
import type { HubConfig } from './config.js';
import { startLwm2mFirmware } from './lwm2m-firmware.js';
import type { HubMetrics } from './metrics.js';
import type { HubServices } from './services.js';

/** Heartbeats vouch for this node's registrations well inside presence's 120 s staleness. */
const HEARTBEAT_MS = 30_000;
/** Changes made on other nodes (desired twins, commands) reach a registration within this. */
const SWEEP_MS = 5_000;

/** The running LwM2M server and its service. */
export interface HubLwm2m {
  server: Lwm2mServer;
  service: Lwm2mService;
  /** Access changes: a cut ends the matching registrations (the client must register again). */
  live: LiveSessions;
  stop(): Promise<void>;
}

export async function startLwm2m(d: {
  config: HubConfig;
  services: HubServices;
  storage: Storage;
  log: Logger;
  metrics: HubMetrics;
  clock: Clock;
  /** Package URIs of firmware jobs (decision 0044). */
  firmwareUrls: Lwm2mFirmwareUrls;
}): Promise<HubLwm2m | undefined> {
  const { config, services: s, log } = d;
  if (config.lwm2mPort === null) return undefined;
  const ref: { server?: Lwm2mServer } = {};
  const service: Lwm2mService = new Lwm2mService({
    storage: d.storage,
    twins: s.twins,
    presence: s.presence,
    commands: s.commands,
    messaging: s.messaging,
    audit: s.audit,
    signals: s.managementSignals,
    clock: d.clock,
    log: { warn: (o, m) => log.warn(o, m), info: (o, m) => log.info(o, m) },
    // The link exists once the socket is bound; nothing calls it before a registration arrives.
    link: {
      read: (l, p) => ref.server!.link.read(l, p),
      write: (l, p, v) => ref.server!.link.write(l, p, v),
      execute: (l, p, a) => ref.server!.link.execute(l, p, a),
      discover: (l, p) => ref.server!.link.discover(l, p),
      observe: (l, p, on) => ref.server!.link.observe(l, p, on),
    },
  });
  // Firmware over object 5 (decision 0044) follows the same registrations on the same link.
  const firmware = startLwm2mFirmware({
    services: s,
    storage: d.storage,
    urls: d.firmwareUrls,
    link: {
      read: (l, p) => ref.server!.link.read(l, p),
      write: (l, p, v) => ref.server!.link.write(l, p, v),
      execute: (l, p, a) => ref.server!.link.execute(l, p, a),
      discover: (l, p) => ref.server!.link.discover(l, p),
      observe: (l, p, on) => ref.server!.link.observe(l, p, on),
    },
    clock: d.clock,
    log,
  });
  const fwFailed = (err: unknown) => log.warn({ err }, 'LwM2M: firmware work failed');
  const server = (ref.server = await startLwm2mServer({
    port: config.lwm2mPort,
    host: config.lwm2mHost,
    limits: { maxRegistrations: config.lwm2mMaxRegistrations },
    log: { warn: (o, m) => log.warn(o, m), debug: (o, m) => log.debug(o, m) },
    hooks: {
      bind: (ep, source) => service.bind(ep, source),
      registered: (reg, b) =>
        service
          .registered(reg, b)
          .catch((err: unknown) => {
            log.warn({ err, endpoint: reg.endpoint }, 'LwM2M: work after registration failed');
          })
          .then(() => void firmware.driver.registered(reg, b).catch(fwFailed)),
      updated: (reg) =>
        service.updated(reg).then(() => void firmware.driver.updated(reg).catch(fwFailed)),
      ended: (reg, why) => {
        firmware.driver.ended(reg);
        return service.ended(reg, why);
      },
      sent: (location, records) => service.sent(location, records),
    },
  }));
  service.start();
  const heartbeat = setInterval(() => {
    service.heartbeat().catch((err: unknown) => log.warn({ err }, 'LwM2M heartbeat failed'));
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    service
      .sweep()
      .catch((err: unknown) => log.warn({ err }, 'LwM2M sweep failed'))
      .finally(() => (sweeping = false));
  }, SWEEP_MS);
  sweep.unref();
  log.warn(
    { port: server.port, host: config.lwm2mHost },
    'LwM2M is enabled over plain CoAP WITHOUT transport security: any host that can reach this port can register as a device carrying the "lwm2m" tag by naming its id — use it only on trusted networks',
  );
  d.metrics.gauge(
    'bulwark_lwm2m_registrations',
    'LwM2M registrations held by this node',
    [],
    () => server.stats().registrations,
  );

  return {
    server,
    service,
    live: {
      cut(match) {
        const hit = service.principals().filter((p) => match(p.principal));
        for (const p of hit) void server.cut(p.location);
        return hit.length;
      },
      // Nothing per channel is held: every notification and Send is authorized at ingest.
      reauthorize: () => Promise.resolve(0),
    },
    async stop() {
      clearInterval(heartbeat);
      clearInterval(sweep);
      firmware.stop();
      service.stop();
      await server.close();
    },
  };
}
