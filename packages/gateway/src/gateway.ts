/**
 * One gateway: the agent (identity, enrollment, supervision, updates, its one mutual-TLS link to
 * the hub) with the site copy, the local broker, the durable queue and the forwarder beside it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dialRelay, discoverDevices, type Agent } from '@bulwark/agent';
import { RELAY_DEVICE_HEADER, RELAY_DEVICE_SERIAL_HEADER } from '@bulwark/transport';
import { startLocalBroker, type LocalBroker } from './broker.js';
import type { GatewayConfig } from './config.js';
import { FirmwareCacheService, type FirmwareCacheStatus } from './firmware-cache-service.js';
import { Forwarder } from './forwarder.js';
import { InventoryScanner } from './inventory-scan.js';
import { LocalPlane } from './plane.js';
import { PlaneStore } from './plane-store.js';
import { relayForwarder, type RelayForwardDeps, type RelayForwardStats } from './relay-forward.js';
import { UplinkQueue } from './queue.js';
import { LocalRules } from './rules.js';
import { SiteSync } from './site.js';

/** Hub messages held for site devices at most (desired twins, commands, offers): ~10 per device. */
const PLANE_MAX_HELD = 100_000;
/** Expired commands are dropped this often (they are never handed out past their deadline). */
const PLANE_PRUNE_MS = 30_000;

export type GatewayLog = (level: 'error' | 'warn' | 'info' | 'debug', msg: string) => void;

export interface GatewayStatus {
  brokerPort: number | undefined;
  queue: { messages: number; bytes: number };
  forwarded: { batches: number; messages: number; failures: number };
  siteSyncs: number;
  siteDevices: number;
  /** Rules held for the site; messages evaluated; firings, clears and commands sent. */
  rules: { held: number; evaluated: number; fired: number; cleared: number; commands: number };
  /** Devices heard on the LAN (mDNS) and scan rounds so far; undefined when the scan is off. */
  inventory: { devices: number; unknown: number; rounds: number; failures: number } | undefined;
  /** The firmware cache (bytes served, fetched, saved …); undefined when it is off. */
  cache: FirmwareCacheStatus | undefined;
  /** Remote-access legs forwarded to the hub relay (on the cache's LAN server). */
  relay: RelayForwardStats;
}

export class Gateway {
  readonly queue: UplinkQueue;
  readonly sync: SiteSync;
  readonly forwarder: Forwarder;
  readonly inventory: InventoryScanner | undefined;
  readonly firmware: FirmwareCacheService | undefined;
  /** The device plane through the gateway: twins, commands, offers down; reports up. */
  readonly plane: LocalPlane;
  /** Rules on telemetry evaluated at the site, online or not (rules.ts). */
  readonly rules: LocalRules;
  readonly #planeStore: PlaneStore;
  readonly #relay: ReturnType<typeof relayForwarder>;
  #pruneTimer: NodeJS.Timeout | undefined;
  #broker: LocalBroker | undefined;
  readonly #onConnected = () => {
    this.forwarder.kick();
    void this.plane.linkUp();
  };
  readonly #onOwnMessage = (rest: string, payload: Uint8Array) =>
    this.plane.downlink(rest, payload);
  readonly #onDisconnected = () => this.forwarder.reset();

  constructor(
    private readonly agent: Agent,
    private readonly config: GatewayConfig,
    private readonly dir: string,
    private readonly log: GatewayLog,
    relayTap?: RelayForwardDeps['tap'],
  ) {
    this.queue = new UplinkQueue(join(dir, 'queue.db'), config.queue);
    this.forwarder = new Forwarder({
      queue: this.queue,
      send: (rest, payload) => agent.publishOwn(rest, payload),
      connected: () => agent.connected,
      ...config.uplink,
      log,
    });
    this.#planeStore = new PlaneStore(join(dir, 'plane.db'), PLANE_MAX_HELD);
    this.plane = new LocalPlane({
      store: this.#planeStore,
      queue: this.queue,
      uplink: {
        connected: () => agent.connected,
        publishOwn: (rest, payload) => agent.publishOwn(rest, payload),
        subscribeOwn: (filters) => agent.subscribeOwn(filters),
      },
      site: () => this.sync.site,
      accepted: () => this.forwarder.kick(),
      log,
    });
    this.rules = new LocalRules({ plane: this.plane, log });
    this.sync = new SiteSync({
      agent,
      dir,
      intervalMs: config.syncIntervalMs,
      log,
      onChange: (site) => {
        this.rules.apply(site);
        this.#broker?.apply(site);
        this.firmware?.apply(site);
      },
    });
    // Remote access for site devices: their relay legs go to the hub with the gateway's identity.
    this.#relay = relayForwarder({
      site: () => this.sync.site,
      offeredTo: (id) => this.plane.offeredTo(id),
      dial: (path, secret, device) => {
        const trust = agent.hubTrust();
        if (trust === undefined) return Promise.reject(new Error('the gateway is not enrolled'));
        return dialRelay({
          origin: trust.origin,
          path,
          secret,
          ca: trust.ca,
          cert: trust.cert,
          key: trust.key,
          headers: {
            [RELAY_DEVICE_HEADER]: device.id,
            [RELAY_DEVICE_SERIAL_HEADER]: device.serial,
          },
        });
      },
      log,
      ...(relayTap ? { tap: relayTap } : {}),
    });
    this.firmware = config.cache.enabled
      ? new FirmwareCacheService({
          agent,
          config: config.cache,
          dir,
          site: () => this.sync.site,
          log,
          relay: this.#relay.onUpgrade,
        })
      : undefined;
    const inv = config.inventory;
    this.inventory = inv.enabled
      ? new InventoryScanner({
          options: inv,
          dir,
          discover: (o) => discoverDevices(o),
          isSiteDevice: (id) => this.sync.site?.devices.has(id) ?? false,
          ready: () => this.sync.site !== undefined,
          report: (e) => agent.report(e),
          log,
        })
      : undefined;
  }

  /** Opens the gateway's state in `dir` (created 0700) and starts it beside a started agent. */
  static async start(
    agent: Agent,
    config: GatewayConfig,
    log: GatewayLog,
    relayTap?: RelayForwardDeps['tap'],
  ): Promise<Gateway> {
    const dir = join(config.agent.stateDir, 'gateway');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const g = new Gateway(agent, config, dir, log, relayTap);
    await g.#start();
    return g;
  }

  async #start(): Promise<void> {
    await this.sync.load();
    const [cert, key] = await Promise.all([
      readFile(this.config.broker.certFile, 'utf8'),
      readFile(this.config.broker.keyFile, 'utf8'),
    ]);
    this.#broker = await startLocalBroker({
      host: this.config.broker.host,
      port: this.config.broker.port,
      cert,
      key,
      site: () => this.sync.site,
      queue: this.queue,
      accepted: () => this.forwarder.kick(),
      plane: this.plane,
      rules: this.rules,
      maxPacketSize: 256 * 1024,
      onTlsError: (err) => this.log('debug', `device TLS refused: ${err.message}`),
    });
    await this.firmware?.start(cert, key);
    this.plane.attach(this.#broker.engine);
    this.agent.on('connected', this.#onConnected);
    this.agent.on('disconnected', this.#onDisconnected);
    this.agent.on('own-message', this.#onOwnMessage);
    this.#pruneTimer = setInterval(() => this.plane.prune(), PLANE_PRUNE_MS).unref();
    if (this.agent.connected) void this.plane.linkUp();
    this.sync.start();
    await this.inventory?.start();
    this.forwarder.kick();
    this.log('info', `gateway broker listening on ${this.config.broker.host}:${this.#broker.port}`);
  }

  status(): GatewayStatus {
    return {
      brokerPort: this.#broker?.port,
      queue: this.queue.size,
      forwarded: { ...this.forwarder.stats },
      siteSyncs: this.sync.syncs,
      siteDevices: this.sync.site?.devices.size ?? 0,
      rules: { held: this.rules.size, ...this.rules.stats },
      inventory: this.inventory && {
        devices: this.inventory.inventory.size,
        unknown: this.inventory.inventory.list().filter((e) => !e.known).length,
        rounds: this.inventory.rounds,
        failures: this.inventory.failures,
      },
      cache: this.firmware?.status(),
      relay: { ...this.#relay.stats, refused: { ...this.#relay.stats.refused } },
    };
  }

  async stop(): Promise<void> {
    this.agent.off('connected', this.#onConnected);
    this.agent.off('disconnected', this.#onDisconnected);
    this.agent.off('own-message', this.#onOwnMessage);
    clearInterval(this.#pruneTimer);
    this.plane.stop();
    this.forwarder.stop();
    await this.inventory?.stop();
    await this.firmware?.stop();
    await this.sync.stop();
    await this.#broker?.close();
    this.queue.close();
    this.#planeStore.close();
  }
}
