/**
 * The device agent, composed from its ports (files, device system, clock) and its configuration,
 * so the same code runs as `bulwark agent` on a device and many times over in one simulator
 * process. `start()` loads what a previous run left (identity, queues, applied twin, command
 * ledger), enrolls if the device has no identity yet, and keeps the link to the hub according to
 * the connection mode; `stop()` says goodbye (presence offline) and releases every timer.
 *
 * The concerns live in `runtime/`: the outbox (queues and the send pump), enrollment and renewal,
 * connection scheduling, inbound routing, metrics sampling; this file wires them together and
 * holds the public API and its events.
 */
import { EventEmitter } from 'node:events';
import {
  deviceTopic,
  type CommandStatus,
  type DeviceEvent,
  type DeviceMetrics,
  type ReportedTwin,
} from '@bulwark/protocol';
import type { AgentConfig } from './config.js';
import type { AgentClock, AgentFiles, DeviceSystem, LocalPortHost } from './ports.js';
import { ConnectionWatcher } from './health/connection-watcher.js';
import { Autonomy } from './runtime/autonomy.js';
import { registerBuiltinCommands, registerBuiltinSections } from './runtime/builtins.js';
import { CommandRunner } from './runtime/commands.js';
import { Connection } from './runtime/connection.js';
import { Enrollment } from './runtime/enrollment.js';
import type { CertificateAuthority, IdentityMaterial } from './runtime/identity.js';
import { inboundHandler } from './runtime/inbound.js';
import { LogShipper } from './logs/shipper.js';
import { localPortHost } from './runtime/local-port-host.js';
import { MetricsSampler } from './runtime/metrics.js';
import { deviceEvent, Outbox } from './runtime/outbox.js';
import { Twin } from './runtime/twin.js';
import type { SlotStore } from './update/slots.js';
import { UpdateClient } from './update/update-client.js';

export type { PublishErrorCode } from './runtime/outbox.js';

/** What an Agent is built from. */
export interface AgentDeps {
  config: AgentConfig;
  files: AgentFiles;
  system: DeviceSystem;
  clock?: AgentClock;
  /** PEM of the CA(s) to trust for the hub; default: read `config.caFile`. */
  hubCa?: string;
  /** Where certificates come from; default: the SDK against `config.hubUrl`. */
  certificateAuthority?: CertificateAuthority;
  /** Random source for backoff jitter (tests may fix it). */
  random?: () => number;
  /** A/B slots given in code (the simulator's MemorySlots); default: `update.slotsDir`. */
  slots?: SlotStore;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

/** A point-in-time view of the agent. */
export interface AgentStatus {
  deviceId: string | undefined;
  enrolled: boolean;
  connected: boolean;
  linkLost: boolean;
  mode: 'controlled' | 'autonomous';
  connects: number;
  /** Of those, connections that resumed their TLS session (no full handshake). */
  tlsResumed: number;
  queue: {
    telemetry: { messages: number; bytes: number };
    control: { messages: number; bytes: number };
    /** Log batches buffered on disk, and records dropped since start because it was full. */
    logs: { batches: number; bytes: number; droppedRecords: number };
  };
  counters: { dropped: number; refusedFull: number; refusedDisk: number; sent: number };
}

/** One device agent. */
export class Agent extends EventEmitter {
  readonly config: AgentConfig;
  readonly files: AgentFiles;
  readonly system: DeviceSystem;
  readonly clock: AgentClock;
  /** Twin sections: apps register theirs with `twin.register(name, handler)`. */
  readonly twin: Twin;
  /** Commands: apps register theirs with `commands.register(name, handler)`. */
  readonly commands: CommandRunner;
  /** Firmware updates: apps add health checks with `updates.registerHealthCheck(name, fn)`. */
  readonly updates: UpdateClient;
  /** Central device logs (decision 0032): apps and the simulator may `logs.add(record)`. */
  readonly logs: LogShipper;

  private readonly enrollment: Enrollment;
  private readonly outbox: Outbox;
  private readonly connection: Connection;
  private readonly metrics: MetricsSampler;
  private readonly autonomy: Autonomy;
  /** Checks established connections against the allowlist (when one is configured). */
  private watcher: ConnectionWatcher | undefined;
  private running = false;
  private readonly log: NonNullable<AgentDeps['log']>;

  constructor(deps: AgentDeps) {
    super();
    this.config = deps.config;
    this.files = deps.files;
    this.system = deps.system;
    this.clock = deps.clock ?? { now: () => Date.now() };
    const rawLog = deps.log ?? (() => undefined);
    // The agent's own log goes to its sink and, from `logs.agent` up, to the hub's device logs.
    const log = (this.log = (level, msg) => {
      rawLog(level, msg);
      this.logs.agentLine(level, msg);
    });
    const { config, files, clock } = this;
    this.logs = new LogShipper({
      config: config.logs,
      files,
      clock,
      buffer: () => this.outbox.logs,
      buffered: () => {
        if (this.connection.connected) this.outbox.pump();
      },
      // Its own trouble goes to the local log only: a failing buffer must not feed itself.
      warn: (msg) => rawLog('warn', msg),
    });
    const emit = (event: string, ...args: unknown[]) => void this.emit(event, ...args);
    const report = (e: DeviceEvent) => this.report(e);
    const deviceId = () => this.deviceId;
    const link = () => this.connection.link;

    this.twin = new Twin(
      files,
      (r) => this.sendReported(r),
      () => clock.now(),
    );
    this.commands = new CommandRunner(files, clock, (id, s) => this.sendStatus(id, s));
    registerBuiltinSections(this.twin, {
      allowlist: (entries) => this.watcher?.setAllowlist(entries),
    });
    registerBuiltinCommands(this.commands, {
      twin: this.twin,
      reboot: () => this.reboot(),
      factoryReset: () => this.factoryReset(),
      now: () => clock.now(),
    });
    this.autonomy = new Autonomy(config.device.rules, {
      active: () => config.device.mode === 'autonomous' || this.connection.linkLost,
      set: (path, value) => this.twin.set(path, value),
      report: (e) => this.report({ ...e, at: new Date(clock.now()).toISOString() }),
    });
    this.updates = this.updateClient(deps);
    this.enrollment = new Enrollment({
      config,
      files,
      clock,
      hubCa: deps.hubCa,
      certificateAuthority: deps.certificateAuthority,
      random: deps.random,
      log,
      emit,
      running: () => this.running,
      online: () => this.connection.online,
      enrolled: () => this.connection.goOnline(),
      reconnect: () => this.connection.link?.reconnect(),
    });
    this.outbox = new Outbox({
      config,
      files,
      clock,
      log,
      deviceId,
      link,
      demand: () => this.connection.demand(),
      touch: () => this.connection.touch(),
      report,
      drained: () => emit('drained'),
    });
    this.metrics = new MetricsSampler({
      config,
      system: this.system,
      twin: this.twin,
      log,
      deviceId,
      link,
      online: () => this.connection.online,
      emit: (m) => emit('metrics', m),
      onMetrics: (m) => this.autonomy.onMetrics(m),
    });
    this.connection = new Connection({
      config,
      clock,
      twin: this.twin,
      random: deps.random,
      log,
      identity: () => this.identity,
      hubCa: () => this.enrollment.hubCa,
      running: () => this.running,
      busy: () => this.outbox.pumping || this.commands.running > 0 || this.outbox.pending > 0,
      pump: () => this.outbox.pump(),
      onMessage: inboundHandler({
        clock,
        twin: this.twin,
        commands: this.commands,
        log,
        deviceId,
        touch: () => this.connection.touch(),
        report,
        emit,
        updateOffer: (job, payload) => this.updates.handle(job, payload),
        // The local services serve it (local-services.ts); nobody listening: nothing dials.
        tunnel: (offer) => void this.emit('tunnel-offer', offer),
      }),
      onOnline: () => this.startPeriodicWork(),
      onOffline: () => this.stopPeriodicWork(),
      onConnected: () => {
        emit('connected');
        this.outbox.pump();
        this.enrollment.renewIfDue();
        this.updates
          .connected()
          .catch((err: Error) => log('warn', `firmware report: ${err.message}`));
      },
      report,
      emit,
      onLink: (event) => this.autonomy.onLink(event),
    });
  }

  // ── identity ────────────────────────────────────────────────────────────────────────────────

  /** The device's identity, once enrolled. */
  get identity(): IdentityMaterial | undefined {
    return this.enrollment.identity;
  }

  get deviceId(): string | undefined {
    return this.identity?.deviceId;
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  status(): AgentStatus {
    return {
      deviceId: this.deviceId,
      enrolled: this.identity !== undefined,
      connected: this.connected,
      linkLost: this.connection.linkLost,
      mode: this.config.device.mode,
      connects: this.connection.link?.connects ?? 0,
      tlsResumed: this.connection.link?.resumed ?? 0,
      queue: this.outbox.sizes(),
      counters: { ...this.outbox.counters },
    };
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────────────

  /**
   * Loads local state and starts enrolling/connecting in the background. Resolves once local state
   * is loaded; listen for `enrolled` and `connected`, or await `whenConnected()`.
   */
  async start(): Promise<void> {
    if (this.running) throw new Error('agent already started');
    await this.enrollment.init();
    await this.openState();
    this.running = true;
    const enrolled = await this.enrollment.load();
    await this.updates.open(); // resumes an install (reports need the identity loaded above)
    await this.logs.start();
    if (enrolled) this.connection.goOnline();
    else this.enrollment.begin();
  }

  /** Stops: presence offline if connected, link closed, timers cleared. Local state stays. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.logs.stop(); // what is pending goes to the on-disk buffer
    await this.updates.stop();
    await this.enrollment.stop();
    await this.connection.goOffline();
  }

  /** Resolves when connected (or rejects after `ms`). */
  whenConnected(ms = 30_000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('connected', on);
        reject(new Error(`not connected after ${ms} ms`));
      }, ms);
      const on = () => {
        clearTimeout(t);
        resolve();
      };
      this.once('connected', on);
    });
  }

  private async openState(): Promise<void> {
    const corrupt = await this.outbox.open();
    await this.twin.load();
    await this.commands.load();
    if (corrupt > 0)
      this.report(deviceEvent(this.clock, 'queue-corrupt', 'warning', { removed: corrupt }));
  }

  /** Online: metrics, the renewal check, the allowlist watcher (when one is configured). */
  private startPeriodicWork(): void {
    this.metrics.schedule();
    this.enrollment.scheduleRenewal(0);
    const allowlist =
      (this.twin.get('network.allowlist') as string[] | undefined) ?? this.config.allowlist;
    if (allowlist.length > 0) {
      this.watcher = new ConnectionWatcher({
        system: this.system,
        allowlist,
        report: (e) => this.report(e),
        clock: this.clock,
        onError: (err) => this.log('warn', `connection check: ${(err as Error).message}`),
      });
      this.watcher.start();
    }
  }

  /**
   * Samples health now instead of at the next period: one metrics snapshot (published when
   * connected) and, when an allowlist is configured, one connection check. The simulator calls it
   * when a simulated attack changes what the device would report, so latency figures measure the
   * hub, not the sampling interval.
   */
  async sampleHealthNow(): Promise<void> {
    await this.metrics.sample();
    await this.watcher?.check();
  }

  private stopPeriodicWork(): void {
    this.metrics.stop();
    this.enrollment.stopRenewal();
    this.watcher?.stop();
    this.watcher = undefined;
  }

  // ── outbound ────────────────────────────────────────────────────────────────────────────────

  /**
   * Telemetry: queued durably on the device, sent in order when the link is up, removed after the
   * hub's PUBACK. Rejects (code `queue_full`, `disk_full`, `invalid_topic`) without changing the queue.
   */
  publish(
    channelId: string,
    subtopic: string,
    payload: Uint8Array | string,
    contentType = 'application/octet-stream',
  ): Promise<void> {
    return this.outbox.publish(channelId, subtopic, payload, contentType);
  }

  /**
   * Publishes on the device's own plane (`$devices/{id}/{rest}`) over the link, QoS 1, without
   * the outbox: resolves on the hub's acknowledgement, rejects when offline or refused. For a
   * gateway's uplink (decision 0040), which keeps its own durable queue.
   */
  publishOwn(rest: string, payload: Uint8Array): Promise<void> {
    const id = this.identity?.deviceId;
    const link = this.connection.link;
    if (id === undefined || link === undefined || !this.connection.connected)
      return Promise.reject(new Error('not connected'));
    return link.publish(`$devices/${id}/${rest}`, payload, { qos: 1 });
  }

  /**
   * Subscribes the current connection to levels of the device's own plane beyond the agent's
   * (`downlink/#` for a gateway, decision 0040); their messages are emitted as `own-message`
   * (rest, payload). Call again after every `connected`.
   */
  async subscribeOwn(filters: string[]): Promise<void> {
    const id = this.identity?.deviceId;
    const link = this.connection.link;
    if (id === undefined || link === undefined || !this.connection.connected)
      throw new Error('not connected');
    const granted = await link.subscribe(filters.map((f) => `$devices/${id}/${f}`));
    if (granted.some((g) => g >= 0x80)) throw new Error('the hub refused the subscription');
  }

  /** The CA(s) trusted for the hub's TLS server certificate. */
  get hubCa(): string {
    return this.enrollment.hubCa;
  }

  /** Records an event; it reaches the hub (`events`) when connected, in order. */
  report(event: DeviceEvent): void {
    this.emit('event', event);
    this.outbox.queueEvent(event);
  }

  private sendReported(r: ReportedTwin): Promise<void> {
    const id = this.identity?.deviceId;
    if (id === undefined) return Promise.resolve();
    this.emit('reported', r);
    return this.outbox.sendControl(deviceTopic.reported(id), r);
  }

  private sendStatus(cid: string, s: CommandStatus): Promise<void> {
    // Commands only arrive over the link, which needs an identity; a factory reset may race one.
    const id = this.identity?.deviceId;
    if (id === undefined) return Promise.resolve();
    this.emit('command-status', cid, s);
    return this.outbox.sendControl(deviceTopic.commandStatus(id, cid), s);
  }

  /** Resolves when both queues are empty and sent (or after `ms`, rejecting). */
  flush(ms = 10_000): Promise<void> {
    return this.outbox.flush(ms);
  }

  // ── periodic work ───────────────────────────────────────────────────────────────────────────

  /** Takes one metrics snapshot: published (QoS 0, not queued) when connected, fed to the rules. */
  sampleMetrics(): Promise<DeviceMetrics | undefined> {
    return this.metrics.sample();
  }

  /** Renews the certificate once `renewal.atFraction` of its lifetime has passed. */
  maybeRenew(): Promise<boolean> {
    return this.enrollment.maybeRenew();
  }

  // ── device actions ─────────────────────────────────────────────────────────────────────────

  /** Reboots the device (after trying to send what is queued). */
  async reboot(): Promise<void> {
    await this.flush(5000).catch(() => undefined);
    this.emit('reboot');
    await this.system.reboot();
  }

  /**
   * Factory reset: the identity (keys, certificates) and all user data (queues, applied twin,
   * command ledger) are wiped. The agent then waits for a credential to enroll again; a one-time
   * token already used is refused by the hub, so it takes a new one.
   */
  async factoryReset(): Promise<void> {
    await this.flush(5000).catch(() => undefined);
    await this.connection.goOffline();
    await this.updates.stop();
    await this.files.wipe();
    this.enrollment.reset();
    this.twin.reset();
    this.commands.reset();
    this.outbox.clearMemoryEvents();
    this.connection.linkLost = false;
    await this.openState();
    if (this.running) await this.updates.open();
    this.emit('factory-reset');
    if (this.running) this.enrollment.begin();
  }

  /** The update client, wired to the link, the outbox and the identity. */
  private updateClient(deps: AgentDeps): UpdateClient {
    return new UpdateClient({
      config: this.config,
      files: this.files,
      clock: this.clock,
      slots: deps.slots,
      random: deps.random,
      log: this.log,
      deviceId: () => this.deviceId,
      send: (topic, body) => this.outbox.sendControl(topic, body),
      whenConnected: (signal) =>
        new Promise<void>((resolve, reject) => {
          if (this.connected) return resolve();
          const abort = () => {
            this.off('connected', on);
            reject(new Error('aborted'));
          };
          const on = () => {
            signal.removeEventListener('abort', abort);
            resolve();
          };
          this.once('connected', on);
          signal.addEventListener('abort', abort, { once: true });
        }),
      trust: () => {
        const m = this.identity;
        if (m === undefined) return undefined;
        const ca = [this.enrollment.hubCa, m.hubCa].filter((c) => c !== '');
        return { ca, cert: m.certPem + (m.chain[0] ?? ''), key: m.keyPem };
      },
      reboot: () => this.reboot(),
      emit: (event, ...args) => void this.emit(event, ...args),
    });
  }

  /**
   * How to reach the hub over HTTPS as this device (mutual TLS): its origin, the CAs it trusts for
   * the hub, and the device's certificate chain and key. Undefined before enrollment.
   */
  hubTrust(): { origin: string; ca: string[]; cert: string; key: string } | undefined {
    const m = this.identity;
    if (m === undefined) return undefined;
    const ca = [this.enrollment.hubCa, m.hubCa].filter((c) => c !== '');
    return { origin: this.config.hubUrl, ca, cert: m.certPem + (m.chain[0] ?? ''), key: m.keyPem };
  }

  /** What the local port (LocalPortServer) needs; requires an identity. */
  localPortHost(): LocalPortHost {
    return localPortHost({
      identity: () => this.identity,
      twin: this.twin,
      files: this.files,
      clock: this.clock,
      reboot: () => this.reboot(),
      factoryReset: () => this.factoryReset(),
      report: (e) => this.report(e),
    });
  }
}
