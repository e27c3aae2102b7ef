/**
 * Starts the LwM2M 1.1 server (decision 0043) when the operator asked for it: core's
 * `Lwm2mService` on the hub's services, driven by transport's wire — over plain CoAP
 * (`--lwm2m-port`, endpoints register without a credential, so the hub says loudly that this is
 * for trusted networks) and/or over DTLS (`--lwm2ms-port`) with a pre-shared key, a device
 * certificate or a pinned raw public key — the credential is admitted by the one rule as the
 * device the endpoint names. One service, one registration per device.
 */
import type { Logger } from 'pino';
import {
  Lwm2mBootstrap,
  Lwm2mService,
  type Clock,
  type LiveSessions,
  type Lwm2mFirmwareUrls,
  type Lwm2mLink,
  type Storage,
} from '@bulwark/core';
import { BulwarkError } from '@bulwark/protocol';
import { startLwm2mServer, type Lwm2mHooks, type Lwm2mServer } from '@bulwark/transport';
import {
  dtlsAuthHooks,
  dtlsCertificateJudge,
  dtlsRawKeyJudge,
  dtlsServerCredential,
} from './dtls-auth.js';
import type { HubConfig } from './config.js';
import { startLwm2mFirmware } from './lwm2m-firmware.js';
import type { HubMetrics } from './metrics.js';
import type { ServerTls } from './server-tls.js';
import type { HubServices } from './services.js';

/** Heartbeats vouch for this node's registrations well inside presence's 120 s staleness. */
const HEARTBEAT_MS = 30_000;
/** Registration lifetime a bootstrap writes to /1/0/1 (Wakaama's default; decision 0045). */
const BOOTSTRAP_LIFETIME_S = 300;
/** Changes made on other nodes (desired twins, commands) reach a registration within this. */
const SWEEP_MS = 5_000;

/** The running LwM2M servers and their service. */
export interface HubLwm2m {
  /** Plain CoAP (`--lwm2m-port`), when on. */
  server: Lwm2mServer | undefined;
  /** DTLS (`--lwm2ms-port`: PSK, certificates, raw public keys), when on. */
  secure: Lwm2mServer | undefined;
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
  /** The hub's TLS server certificate, served to certificate clients (as CoAP over DTLS does). */
  served: Pick<ServerTls, 'key' | 'cert'>;
}): Promise<HubLwm2m | undefined> {
  const { config, services: s, log } = d;
  if (config.lwm2mPort === null && config.lwm2msPort === null) return undefined;
  const servers: Lwm2mServer[] = [];
  // A registration lives on the wire that took it: requests go back the same way.
  const wire = (location: string): Lwm2mServer =>
    servers.find((x) => x.holds(location)) ?? servers[0]!;
  // The link exists once a socket is bound; nothing calls it before a registration arrives.
  const link: Lwm2mLink = {
    read: (l, p) => wire(l).link.read(l, p),
    write: (l, p, v) => wire(l).link.write(l, p, v),
    execute: (l, p, a) => wire(l).link.execute(l, p, a),
    discover: (l, p) => wire(l).link.discover(l, p),
    observe: (l, p, on) => wire(l).link.observe(l, p, on),
    create: (l, p, v, i) => wire(l).link.create(l, p, v, i),
    delete: (l, p) => wire(l).link.delete(l, p),
    writeAttributes: (l, p, a) => wire(l).link.writeAttributes(l, p, a),
  };
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
    admission: s.admission,
    awakeMs: config.lwm2mQueueAwakeSeconds * 1000,
    link,
  });
  // Firmware over object 5 (decision 0044) follows the same registrations on the same link.
  const firmware = startLwm2mFirmware({
    services: s,
    storage: d.storage,
    urls: d.firmwareUrls,
    link,
    clock: d.clock,
    log,
  });
  const fwFailed = (err: unknown) => log.warn({ err }, 'LwM2M: firmware work failed');
  const hooks: Lwm2mHooks = {
    bind: (ep, source, sec) => service.bind(ep, source, sec),
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
  };
  const common = {
    hooks,
    limits: { maxRegistrations: config.lwm2mMaxRegistrations },
    log: {
      warn: (o: object, m: string) => log.warn(o, m),
      info: (o: object, m: string) => log.info(o, m),
      debug: (o: object, m: string) => log.debug(o, m),
    },
  };
  const stopAll = () => Promise.all(servers.map((x) => x.close()));
  try {
    if (config.lwm2mPort !== null) {
      servers.push(
        await startLwm2mServer({ ...common, port: config.lwm2mPort, host: config.lwm2mHost }),
      );
    }
    if (config.lwm2msPort !== null) {
      // The bootstrap server (decision 0045) shares the DTLS port; its URI needs the bound port.
      let dmUri = config.lwm2mServerUri;
      const bootstrap = new Lwm2mBootstrap({
        storage: d.storage,
        devicePsks: s.devicePsks,
        bootstrapPsks: s.bootstrapPsks,
        audit: s.audit,
        clock: d.clock,
        dmUri: () => dmUri,
        lifetime: BOOTSTRAP_LIFETIME_S,
      });
      const auth = dtlsAuthHooks(s);
      const secure = await startLwm2mServer({
        ...common,
        hooks: {
          ...hooks,
          bootstrap: (ep, source, sec) => bootstrap.request(ep, source, sec),
          // An operator asked for rotation (decision 0045 amendment): the Update is refused 4.04
          // and the registration ends, so the client bootstraps again with its bootstrap
          // account /0/0 — its current DM PSK, accepted once at /bs.
          updated: async (reg) => {
            if (await s.bootstrapPsks.rotationRequested(reg.endpoint)) {
              throw new BulwarkError('lwm2m_rebootstrap_requested');
            }
            return hooks.updated(reg);
          },
        },
        port: config.lwm2msPort,
        host: config.lwm2msHost,
        secure: {
          // A device PSK or a factory bootstrap credential (one identity space); only the
          // bootstrap interface takes the latter — admission knows device PSKs only.
          psk: async (identity) => {
            const p =
              (await s.devicePsks.resolve(identity)) ?? (await s.bootstrapPsks.resolve(identity));
            return p === undefined ? undefined : { key: p.key, ref: p.ref };
          },
          ...auth,
          // Device certificates and pinned raw keys, judged as CoAP over DTLS judges them.
          certificates: {
            credential: await dtlsServerCredential(d.served, config, s.pki),
            verify: dtlsCertificateJudge(s),
            verifyRawKey: dtlsRawKeyJudge(s),
          },
          onAuthFailure: (f) => {
            auth.onAuthFailure(f);
            if (f.reason !== 'unknown' || f.certificate || f.rawPublicKey) return;
            bootstrap.handshakeRefused(f.identity, f.peer.address).catch((err: unknown) => {
              log.warn({ err }, 'LwM2M: auditing a refused bootstrap credential failed');
            });
          },
        },
      });
      servers.push(secure);
      if (dmUri === '') {
        const host = config.lwm2msHost === '0.0.0.0' ? '127.0.0.1' : config.lwm2msHost;
        dmUri = `coaps://${host.includes(':') ? `[${host}]` : host}:${secure.port}`;
      }
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const server = config.lwm2mPort !== null ? servers[0] : undefined;
  const secure = config.lwm2msPort !== null ? servers[servers.length - 1] : undefined;
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
  if (server) {
    log.warn(
      { port: server.port, host: config.lwm2mHost },
      'LwM2M is enabled over plain CoAP WITHOUT transport security: any host that can reach this port can register as a device carrying the "lwm2m" tag by naming its id — use it only on trusted networks',
    );
  }
  if (secure) {
    log.info(
      { port: secure.port, host: config.lwm2msHost },
      'LwM2M over DTLS 1.2 (PSK, certificates, raw public keys) listening',
    );
  }
  d.metrics.gauge('bulwark_lwm2m_registrations', 'LwM2M registrations held by this node', [], () =>
    servers.reduce((n, x) => n + x.stats().registrations, 0),
  );
  if (secure) {
    d.metrics.gauge(
      'bulwark_lwm2ms_handshakes_throttled',
      'ClientHellos to LwM2M over DTLS dropped since start because their source failed authentication too often',
      [],
      () => secure.dtlsStats?.().handshakesThrottled ?? 0,
    );
  }

  return {
    server,
    secure,
    service,
    live: {
      cut(match) {
        const hit = service.principals().filter((p) => match(p.principal));
        for (const p of hit) void wire(p.location).cut(p.location);
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
      await stopAll();
    },
  };
}
