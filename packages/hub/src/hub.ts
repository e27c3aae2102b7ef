import { rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  requirePermission,
  startMitigationRunner,
  type MitigationRunner,
  systemClock,
  type Bus,
  type Clock,
  type DomainEvents,
  type Storage,
} from '@bulwark/core';
import { BulwarkError } from '@bulwark/protocol';
import { startCoap } from './coap.js';
import { startLwm2m, type HubLwm2m } from './lwm2m.js';
import { lwm2mFirmwareDownload, lwm2mFirmwareUrls } from './lwm2m-firmware.js';
import { startCoaps } from './coaps.js';
import { startEdge, type EdgeWiring } from './edge.js';
import { startDetect, type DetectWiring } from './detect.js';
import { newNodeId, startBrokers, type Brokers } from './messaging.js';
import { natsSettings, openBlobs, openBus, openEvents, type OpenedBlobs } from './cluster.js';
import { createMetrics } from './metrics.js';
import {
  TLS_SERVER_POLICY,
  attachRelay,
  createHttpApi,
  type EventStreamSettings,
} from '@bulwark/transport';
import type { HubConfig } from './config.js';
import { instrumentAll, logCalls } from './instrument.js';
import { createLogger } from './logger.js';
import { checkMasterKey, openMasterKey } from './master-key.js';
import { secureDataDir } from './data-dir.js';
import { removeRuntimeFile, writeRuntimeFile, type RuntimeInfo } from './runtime-file.js';
import { ddiDeps } from './ddi.js';
import { startRolloutRunner, type RolloutRunner } from './rollout-runner.js';
import { startChecksRunner, type ChecksRunner } from './checks-runner.js';
import { startRulesRunner, type RulesRunner } from './rules-runner.js';
import { hubCheckSource, type BoundListeners } from './hub-checks.js';
import { startNotificationRunner, type NotificationRunner } from './notification-runner.js';
import { createNotificationSender } from './notification-sender.js';
import { startCertificateRetirement } from './certificate-retirement.js';
import { enableLinearRegex, startDeviceLogPruner } from './device-logs.js';
import { startMetricsHistory } from './metrics-history.js';
import { createServices, type HubServices } from './services.js';
import { startSessionTickets, type SessionTickets } from './session-tickets.js';
import { describeStorage, openStorage } from './storage.js';
import { loadServerTls } from './server-tls.js';
import { printTls, tlsReloader, writePrivateFile, type TlsReload } from './tls-reload.js';
import { writeStorageMarker } from './storage-marker.js';
import { VERSION } from './version.js';

/**
 * The built web console (decision 0038): packages/console/dist next to this package in the
 * repository (dist/src/hub.js → ../../../console/dist). Not built: `/` says how to build it.
 */
const CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist', import.meta.url));

/** A running hub. */
export interface Hub {
  readonly info: RuntimeInfo;
  readonly services: HubServices;
  readonly storage: Storage;
  readonly brokers: Brokers;
  /** Steps rollouts on a timer and applies the auto-upgrade policy (decision 0011). */
  readonly rolloutRunner: RolloutRunner;
  /** Runs the fleet audit checks on the configured interval (decision 0031). */
  readonly checksRunner: ChecksRunner;
  /** Routes alerts to notification endpoints and delivers them (decision 0030). */
  readonly notificationRunner: NotificationRunner;
  /** Applies mitigation policies to the alerts this node raises (decision 0036). */
  readonly mitigationRunner: MitigationRunner;
  /** The one-time setup token, when the hub has no user yet (printed once at start). */
  readonly setupToken: string | undefined;
  /**
   * Re-reads the certificate files (SIGHUP): new connections get the new certificate, open ones
   * keep theirs; on any error the running certificate stays and the error is logged and returned.
   */
  reloadTls(): Promise<TlsReload>;
  stop(): Promise<void>;
}

/** Options beyond the config: where the banner goes and the logger (tests silence both). */
export interface HubOptions {
  print?: (line: string) => void;
  logger?: Logger;
  /** Time source for the services (tests step through expiries). */
  clock?: Clock;
  /** The built web console's directory (default: packages/console/dist of this repository). */
  consoleDir?: string;
  /** The live event stream's heartbeat, backlog bound and history (tests shorten them). */
  eventStream?: Partial<EventStreamSettings>;
  /** Sees every chunk the remote-access relay copies (tests: no plaintext crosses the hub). */
  relayTap?: (to: 'device' | 'operator', chunk: Buffer) => void;
}

/** The data dir's master key path unless the operator gave one. */
export function masterKeyPath(config: Pick<HubConfig, 'dataDir' | 'masterKeyFile'>): string {
  return config.masterKeyFile || join(config.dataDir, 'master.key');
}

/** Starts a hub: storage and migrations, PKI, HTTPS API; writes runtime.json once listening. */
export async function startHub(config: HubConfig, opts: HubOptions = {}): Promise<Hub> {
  const print = opts.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const log = opts.logger ?? createLogger(config.logLevel);
  enableLinearRegex(); // before any request: log search compiles with the `l` flag (0032)
  // Private before anything is read or written: 0700 and 0600, or a refusal saying why.
  const tightened = secureDataDir(config.dataDir, [masterKeyPath(config)]);
  if (tightened.length > 0)
    log.warn({ paths: tightened }, 'data dir was readable by others: permissions tightened');
  const nats = natsSettings(config); // refuses bad cluster flags before anything is opened
  const keyFile = masterKeyPath(config);
  const { key: masterKey, created: keyCreated } = openMasterKey(keyFile, true);
  const storage = await openStorage(config);
  try {
    // Before anything is sealed or written: a node with another key than the cluster's stops here.
    const check = await checkMasterKey(storage, masterKey, {
      keyFile,
      database: describeStorage(config),
    });
    if (check === 'recorded') log.info('master key check value recorded in the database');
  } catch (err) {
    await storage.close().catch(() => undefined);
    // A key file made by this very start is not the cluster's: leave the data dir as it was.
    if (keyCreated) rmSync(keyFile, { force: true });
    throw err;
  }
  const nodeId = newNodeId();
  let app: FastifyInstance | undefined;
  let bus: Bus | undefined;
  let events: DomainEvents | undefined;
  let blobs: OpenedBlobs | undefined;
  let brokers: Brokers | undefined;
  let coap: Awaited<ReturnType<typeof startCoap>>;
  let lwm2m: HubLwm2m | undefined;
  let coaps: Awaited<ReturnType<typeof startCoaps>>;
  let edge: EdgeWiring | undefined;
  let detect: DetectWiring | undefined;
  let tickets: SessionTickets | undefined;
  let rulesRunner: RulesRunner | undefined;
  // What this node listens on, for the hub-configuration audit checks (set once bound).
  let bound: BoundListeners | undefined;
  try {
    bus = await openBus(nats, nodeId);
    events = await openEvents(nats, nodeId, log);
    blobs = await openBlobs(config, nats, nodeId, log);
    const metrics = createMetrics();
    const logObserver = logCalls(log);
    const services = instrumentAll(
      createServices(storage, masterKey, config, opts.clock, {
        bus,
        nodeId,
        events,
        blobs: blobs.store,
        tunnelOffer: (orgId, deviceId, offer) =>
          brokers?.devicePlane.offerTunnel(orgId, deviceId, offer) ?? false,
        hubChecks: hubCheckSource(() => {
          if (bound === undefined) throw new Error('the hub is not listening yet');
          return bound;
        }),
        onBatch: ({ rows, ms, error }) => {
          metrics.storageWrite.observe(
            { outcome: error === undefined ? 'ok' : 'error' },
            ms / 1000,
          );
          metrics.storageBatchRows.observe(rows);
        },
        onIngest: (protocol, outcome) =>
          outcome === 'accepted'
            ? metrics.messagesIn.inc([protocol])
            : metrics.messagesRefused.inc([protocol, outcome]),
      }),
      (e) => {
        logObserver(e);
        metrics.observeCalls(e);
      },
    );
    metrics.gauge(
      'bulwark_storage_writer_waiting',
      'Envelopes waiting for the message writer (from its high-water mark MQTT connections stop reading; beyond its limit, writes are refused)',
      [],
      () => services.messaging.writer.stats.queued,
    );
    metrics.gauge(
      'bulwark_storage_writer_pressured',
      'Times the message writer crossed its high-water mark and MQTT connections were held back (backpressure, not refusals)',
      [],
      () => services.messaging.writer.stats.pressured,
    );
    // Rules on telemetry listen before any listener opens (decision 0035).
    rulesRunner = await startRulesRunner({ engine: services.ruleEvaluation.engine, bus, log });
    metrics.gauge(
      'bulwark_rules_evaluations',
      'Rules on telemetry on this node since start: messages a rule looked at (matched), firings, clears (decision 0035)',
      ['kind'],
      () => ({ ...services.ruleEvaluation.engine.stats }),
    );
    // Detection (decision 0034): what this node tracks and how often rules fired or were held.
    const detectEngine = services.detect.engine;
    metrics.gauge(
      'bulwark_detect_tracked_devices',
      'Devices the detection engine of this node holds counters for',
      [],
      () => detectEngine.size.devices,
    );
    metrics.gauge(
      'bulwark_detect_fired',
      'Detection rules fired on this node since start (one per device and rule until it resolves)',
      [],
      () => detectEngine.fired,
    );
    metrics.gauge(
      'bulwark_detect_suppressed',
      'Rule breaches held by an open alert or a cool-down on this node since start',
      [],
      () => detectEngine.gates.suppressed,
    );
    // The server certificate, and the bundle devices and the CLI trust for it (decision 0025).
    const served = await loadServerTls(config, services.pki);
    services.pki.setServerIssuers(served.issuers);
    const caFile = join(config.dataDir, 'ca.pem');
    writePrivateFile(caFile, await services.pki.serverTrustPem());
    const tls = { key: served.key, cert: served.cert };
    const clock = opts.clock ?? systemClock;
    // Shared, sealed, rotating session-ticket keys: devices resume TLS after a restart and on
    // any node (decision 0022).
    tickets = await startSessionTickets({
      storage,
      masterKey,
      clock,
      hours: config.tlsTicketKeyHours,
      log,
    });
    // Live event streams: open now, and closed since start by why (decision 0038 amendment).
    const eventStreams: Record<string, number> = { open: 0 };
    metrics.gauge(
      'bulwark_event_streams',
      'Live event streams (GET /events/stream) of this node: open now (open), and closed since start by why (client: went away; slow: cut off for not reading; credential_invalid; shutdown)',
      ['state'],
      () => eventStreams,
    );
    // Package URIs of LwM2M firmware jobs (decision 0044) are served on the HTTPS port.
    const firmwareUrls = lwm2mFirmwareUrls(storage, masterKey, clock, () =>
      publicOrigin(config, app),
    );
    app = await createHttpApi({
      services,
      ...(opts.eventStream ? { eventStream: opts.eventStream } : {}),
      onEventStream: (what) => {
        if (what === 'open') eventStreams['open']!++;
        else {
          eventStreams['open']!--;
          eventStreams[what] = (eventStreams[what] ?? 0) + 1;
        }
      },
      https: {
        ...tls,
        ...TLS_SERVER_POLICY,
        ticketKeys: tickets.key,
        sessionTimeout: tickets.sessionTimeoutSeconds,
        sessionIdContext: 'bulwark-https',
      },
      logger: log,
      bodyLimit: config.maxBodyBytes,
      ready: () => storage.ping(),
      ddi: ddiDeps(services, storage, config, () => publicOrigin(config, app)),
      ...(config.lwm2mPort !== null
        ? { lwm2mFirmware: lwm2mFirmwareDownload(firmwareUrls, services) }
        : {}),
      onAuthFailure: (reason) => metrics.authFailures.inc({ protocol: 'http', reason }),
      onAnonymousFailure: () => metrics.anonymousFailures.inc(),
      now: () => clock.now(),
      consoleDir: opts.consoleDir ?? CONSOLE_DIR,
    });
    app.get('/metrics', async (req, reply) => {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer)
        throw new BulwarkError(
          'unauthenticated',
          'scrape with "Authorization: Bearer <API key with metrics:read>"',
        );
      requirePermission(await services.auth.authenticate(bearer, req.ip), 'metrics:read');
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
    // Remote access (decision 0042): the relay upgrades on the HTTPS port, before any listener
    // could see a device dial it.
    const detachRelay = attachRelay(app.server, {
      admission: services.admission,
      auth: services.auth,
      relay: services.tunnels.relay,
      gateways: services.relayGateways,
      ...(opts.relayTap ? { tap: opts.relayTap } : {}),
      onError: (err) => log.debug({ err }, 'relay leg refused'),
    });
    await app.listen({ port: config.httpPort, host: config.httpHost });
    tickets.attach(app.server as unknown as TlsServer);
    brokers = await startBrokers({
      tickets,
      config,
      services,
      storage,
      bus,
      nodeId,
      tls,
      https: app.server,
      log,
      metrics,
    });
    coap = await startCoap({ config, services, bus, log, metrics });
    lwm2m = await startLwm2m({
      config,
      services,
      storage,
      log,
      metrics,
      clock: opts.clock ?? systemClock,
      firmwareUrls,
      served,
    });
    const liveCoap = coap?.live;
    const liveLwm2m = lwm2m?.live;
    coaps = await startCoaps({ config, services, bus, log, metrics, served });
    const liveCoaps = coaps?.live;
    const liveMqtt = brokers.live;
    edge = startEdge({
      services,
      storage,
      clock: opts.clock ?? systemClock,
      nodeId,
      sessions: () =>
        [liveMqtt, liveCoap, liveLwm2m, liveCoaps].filter(
          (l): l is NonNullable<typeof l> => l !== undefined,
        ),
      log,
      metrics,
    });
    // `--detect off`: the engine stays idle (it counts nothing) and is not ticked.
    if (config.detect === 'on') detect = startDetect({ engine: services.detect.engine, log });
    const sweep = () =>
      services.messaging.sweepRetention().then(
        (n) => n > 0 && log.info({ deleted: n }, 'retention sweep'),
        (err: unknown) => log.warn({ err }, 'retention sweep failed'),
      );
    void sweep();
    // Hourly: retention is in days, so an hour's lag is immaterial.
    const sweeper = setInterval(() => void sweep(), 3600_000).unref();
    const rolloutRunner = startRolloutRunner({
      rollouts: services.rollouts,
      firmwarePolicies: services.firmwarePolicies,
      signals: services.managementSignals,
      intervalMs: config.rolloutTickMs,
      log,
    });
    const stopRetirement = startCertificateRetirement({ pki: services.pki, log });
    const stopLogPruner = startDeviceLogPruner({ logs: services.deviceLogs, log });
    const stopMetricsHistory = startMetricsHistory({ history: services.metricsHistory, log });
    // Alerts → routing rules → the persisted delivery queue → webhooks and email (decision 0030).
    const notificationAttempts: Record<string, number> = {};
    metrics.gauge(
      'bulwark_notification_attempts',
      'Notification delivery attempts by this node since start, by outcome (delivered; retried: failed, tried again later; dead: dead-lettered after the last try)',
      ['outcome'],
      () => notificationAttempts,
    );
    const notificationRunner = startNotificationRunner({
      storage,
      events: services.events,
      clock: opts.clock ?? systemClock,
      masterKey,
      nodeId,
      sender: createNotificationSender(),
      intervalMs: config.notifyTickMs,
      log,
      onAttempt: (outcome) => {
        notificationAttempts[outcome] = (notificationAttempts[outcome] ?? 0) + 1;
      },
    });
    // Alerts → mitigation policies → actions on the device, at once (decision 0036). Only this
    // node's alerts: in a cluster each alert is mitigated once, by the node that raised it.
    const mitigationRunner = startMitigationRunner({
      events: services.events,
      nodeId,
      mitigations: services.mitigations,
      onRecorded: (m) =>
        log.info(
          {
            orgId: m.orgId,
            deviceId: m.deviceId,
            alertId: m.alertId,
            policyId: m.policyId,
            mitigationId: m.id,
            action: m.action,
            state: m.state,
          },
          'mitigation policy acted',
        ),
      onError: (err) => log.warn({ err }, 'applying mitigation policies to an alert failed'),
    });
    const port = (app.server.address() as AddressInfo).port;
    bound = {
      httpPort: port,
      mqttPort: brokers.mqttPort,
      mqttOpen:
        brokers.openPort === null || brokers.openAddress === null
          ? null
          : { address: brokers.openAddress, port: brokers.openPort },
      coap: coap ? { address: bindAddress(config.coapHost), port: coap.server.port } : null,
    };
    const checksRunner = startChecksRunner({ checks: services.checks, log });
    const host = loopbackOrBound(config.httpHost);
    const info: RuntimeInfo = {
      pid: process.pid,
      version: VERSION,
      startedAt: new Date().toISOString(),
      url: `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`,
      httpPort: port,
      mqttPort: brokers.mqttPort,
      mqttOpenPort: brokers.openPort,
      coapPort: coap?.server.port ?? null,
      lwm2mPort: lwm2m?.server?.port ?? null,
      lwm2msPort: lwm2m?.secure?.port ?? null,
      coapsPort: coaps?.server.port ?? null,
      nodeId,
      caFile,
      dataDir: config.dataDir,
      storage: describeStorage(config),
    };
    const setup = await services.auth.issueSetupToken();
    print(
      `Bulwark hub ${VERSION} listening on ${info.url} (storage: ${info.storage}, durability ${storage.durability})`,
    );
    print(`  config file: ${config.config || 'none (flags and BULWARK_* variables only)'}`);
    print(`  web console: ${info.url}/`);
    printTls(print, served);
    if (setup) {
      print('');
      print('  No owner account yet. Create it with this one-time setup token');
      print(`  (valid until ${new Date(setup.expiresAt).toISOString()}, single use):`);
      print('');
      print(`    Setup token: ${setup.token}`);
      print('');
      print(
        `  e.g.  curl --cacert ${caFile} ${info.url}/api/v1/setup -H 'content-type: application/json' \\`,
      );
      print(
        `          -d '{"token":"…","organization":"Acme","email":"you@example.com","name":"You","password":"…"}'`,
      );
      print(`  or, with access to the data dir:  bulwark ${adminHint(config)}`);
      print(`  or in the web console: ${info.url}/`);
      print('');
    }
    writeStorageMarker(config);
    writeRuntimeFile(config.dataDir, info);
    log.info(
      {
        url: info.url,
        storage: info.storage,
        blobs: blobs.describe,
        schemaVersion: storage.schemaVersion,
      },
      'hub started',
    );
    const started = { app, bus, brokers, coap, coaps, lwm2m, edge, detect, blobs, tickets };
    const reloadTls = tlsReloader({
      config,
      pki: services.pki,
      caFile,
      log,
      current: served,
      apply: (creds) => {
        started.brokers.setTlsCredentials(creds); // validates the pair before anything changes
        (started.app.server as unknown as TlsServer).setSecureContext({
          ...creds,
          ...TLS_SERVER_POLICY,
          sessionIdContext: 'bulwark-https',
          sessionTimeout: started.tickets.sessionTimeoutSeconds,
          // Node falls back to the ticket key given at creation, not the rotated one (0022).
          ticketKeys: started.tickets.key,
        });
      },
    });
    return {
      info,
      services,
      storage,
      brokers,
      rolloutRunner,
      checksRunner,
      notificationRunner,
      mitigationRunner,
      setupToken: setup?.token,
      reloadTls,
      async stop() {
        removeRuntimeFile(config.dataDir);
        clearInterval(sweeper);
        stopLogPruner(); // also answers the followers waiting on a long poll
        await stopRetirement();
        await checksRunner.stop();
        await rolloutRunner.stop();
        await mitigationRunner.stop();
        await notificationRunner.stop();
        started.edge.stop();
        started.tickets.stop();
        detachRelay();
        services.tunnels.relay.closeAll();
        // Stop taking messages, flush what was accepted, then close the bus and the database.
        await started.brokers.stop();
        await started.coap?.stop();
        await started.lwm2m?.stop();
        await started.coaps?.stop();
        await started.app.close();
        await services.messaging.close();
        await rulesRunner?.stop();
        await stopMetricsHistory(); // the reports accepted before the brokers stopped
        // After the brokers stopped: nothing more is counted; what was learned is written.
        await started.detect?.stop();
        await started.bus.close();
        await events?.close();
        await started.blobs.close();
        await storage.close();
        log.info('hub stopped');
      },
    };
  } catch (err) {
    edge?.stop();
    await detect?.stop().catch(() => undefined);
    tickets?.stop();
    await rulesRunner?.stop().catch(() => undefined);
    await brokers?.stop().catch(() => undefined);
    await coap?.stop().catch(() => undefined);
    await lwm2m?.stop().catch(() => undefined);
    await coaps?.stop().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await events?.close().catch(() => undefined);
    await blobs?.close().catch(() => undefined);
    await storage.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The origin devices are told to use in links (hawkBit DDI `_links`): `--public-url`, else the
 * first `--public-names` entry, else the address the hub reports in runtime.json — never the
 * request's Host header, which any client sets.
 */
function publicOrigin(config: HubConfig, app: FastifyInstance | undefined): string {
  if (config.publicUrl) return config.publicUrl;
  const port = (app?.server.address() as AddressInfo | null)?.port ?? config.httpPort;
  const name = config.publicNames[0] ?? loopbackOrBound(config.httpHost);
  return `https://${isIP(name) === 6 ? `[${name}]` : name}:${port}`;
}

/**
 * How to run create-owner on this hub's database: with its config file, else its data dir and
 * (never printed: it may hold a password) its database setting.
 */
function adminHint(config: HubConfig): string {
  if (config.config) return `admin create-owner --config ${config.config} --email …`;
  const hint = `admin create-owner --data-dir ${config.dataDir} --email …`;
  return config.database === ''
    ? hint
    : `${hint}  (with the hub's --database / BULWARK_DATABASE${config.databaseSchema === 'public' ? '' : ' and --database-schema'})`;
}

/** The address a local client reaches the HTTPS server at (a wildcard bind means loopback). */
function loopbackOrBound(host: string): string {
  return ['0.0.0.0', '::', '127.0.0.1'].includes(host) ? '127.0.0.1' : host;
}

/** A configured bind host as an address (`localhost` is loopback), for the listener checks. */
function bindAddress(host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host;
}
