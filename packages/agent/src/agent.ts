/**
 * The device agent, composed from its ports (files, device system, clock) and its configuration,
 * so the same code runs as `bulwark agent` on a device and many times over in one simulator
 * process. `start()` loads what a previous run left (identity, queues, applied twin, command
 * ledger), enrolls if the device has no identity yet, and keeps the link to the hub according to
 * the connection mode; `stop()` says goodbye (presence offline) and releases every timer.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import {
  channelTopic,
  deviceTopic,
  hasWildcard,
  type CommandStatus,
  type DesiredTwin,
  type DeviceEvent,
  type DeviceMetrics,
  type Presence,
  type ReportedTwin,
  type TwinValue,
} from '@bulwark/protocol';
import { createClient } from '@bulwark/sdk';
import type { AgentConfig } from './config.js';
import type { AgentClock, AgentFiles, DeviceSystem, LocalPortHost } from './ports.js';
import { ConnectionWatcher } from './health/connection-watcher.js';
import { Autonomy } from './runtime/autonomy.js';
import { Backoff } from './runtime/backoff.js';
import { registerBuiltinCommands, registerBuiltinSections } from './runtime/builtins.js';
import { CommandRunner } from './runtime/commands.js';
import { httpsFetch } from './runtime/https-fetch.js';
import {
  IdentityStore,
  type CertificateAuthority,
  type Credential,
  type IdentityMaterial,
} from './runtime/identity.js';
import { Link, type LinkEndpoint } from './runtime/link.js';
import { DiskQueue, QueueFullError, type QueueEntry } from './runtime/queue.js';
import { Twin } from './runtime/twin.js';

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
  queue: {
    telemetry: { messages: number; bytes: number };
    control: { messages: number; bytes: number };
  };
  counters: { dropped: number; refusedFull: number; refusedDisk: number; sent: number };
}

/** Errors `publish` rejects with carry one of these codes. */
export type PublishErrorCode = 'queue_full' | 'disk_full' | 'invalid_topic' | 'not_enrolled';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Management messages (reports, statuses, events) are small; these bounds hold days of them. */
const CONTROL_LIMITS = {
  maxMessages: 10_000,
  maxBytes: 8 * 1024 * 1024,
  overflow: 'drop-oldest',
} as const;
/** Messages in flight per pump round: enough to fill a link, few enough to bound memory. */
const WINDOW = 32;
/** Events kept in memory while the disk refuses them (full disk). */
const MEMORY_EVENTS_MAX = 100;
/** Refusal events (overflow, full disk) are coalesced to one a minute, with running counts. */
const REFUSAL_EVENT_EVERY_MS = 60_000;
/** Certificate renewal is checked at least this often. */
const RENEW_CHECK_MS = 3_600_000;

const perr = (code: PublishErrorCode, message: string) =>
  Object.assign(new Error(message), { code });

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

  private identityStore: IdentityStore;
  private telemetry!: DiskQueue;
  private control!: DiskQueue;
  private link: Link | undefined;
  private readonly autonomy: Autonomy;
  /** Checks established connections against the allowlist (when one is configured). */
  private watcher: ConnectionWatcher | undefined;
  private hubCa = '';
  private ca: CertificateAuthority | undefined;
  private running = false;
  private online = false;
  private linkLost = false;
  private downSince: number | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private periodTimer: NodeJS.Timeout | undefined;
  private enrollWake: (() => void) | undefined;
  private enrolling: Promise<void> | undefined;
  private pumping = false;
  private pumpAgain = false;
  private lastActivity = 0;
  private lastRenewalAt = -Infinity;
  private linkWanted = false;
  private memoryEvents: DeviceEvent[] = [];
  private readonly refusals = new Map<string, { count: number; lastEventAt: number }>();
  private readonly counters = { dropped: 0, refusedFull: 0, refusedDisk: 0, sent: 0 };
  private readonly log: NonNullable<AgentDeps['log']>;

  constructor(private readonly deps: AgentDeps) {
    super();
    this.config = deps.config;
    this.files = deps.files;
    this.system = deps.system;
    this.clock = deps.clock ?? { now: () => Date.now() };
    this.log = deps.log ?? (() => undefined);
    this.identityStore = new IdentityStore(this.files);
    this.twin = new Twin(this.files, (r) => this.sendReported(r));
    this.commands = new CommandRunner(this.files, this.clock, (id, s) => this.sendStatus(id, s));
    registerBuiltinSections(this.twin, {
      allowlist: (entries) => this.watcher?.setAllowlist(entries),
    });
    registerBuiltinCommands(this.commands, {
      twin: this.twin,
      reboot: () => this.reboot(),
      factoryReset: () => this.factoryReset(),
      now: () => this.clock.now(),
    });
    this.autonomy = new Autonomy(this.config.device.rules, {
      active: () => this.config.device.mode === 'autonomous' || this.linkLost,
      set: (path, value) => this.twin.set(path, value),
      report: (e) => this.report({ ...e, at: new Date(this.clock.now()).toISOString() }),
    });
  }

  // ── identity ────────────────────────────────────────────────────────────────────────────────

  /** The device's identity, once enrolled. */
  get identity(): IdentityMaterial | undefined {
    return this.identityStore.identity;
  }

  get deviceId(): string | undefined {
    return this.identity?.deviceId;
  }

  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  status(): AgentStatus {
    return {
      deviceId: this.deviceId,
      enrolled: this.identity !== undefined,
      connected: this.connected,
      linkLost: this.linkLost,
      mode: this.config.device.mode,
      connects: this.link?.connects ?? 0,
      queue: {
        telemetry: { messages: this.telemetry?.length ?? 0, bytes: this.telemetry?.sizeBytes ?? 0 },
        control: { messages: this.control?.length ?? 0, bytes: this.control?.sizeBytes ?? 0 },
      },
      counters: { ...this.counters },
    };
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────────────

  /**
   * Loads local state and starts enrolling/connecting in the background. Resolves once local state
   * is loaded; listen for `enrolled` and `connected`, or await `whenConnected()`.
   */
  async start(): Promise<void> {
    if (this.running) throw new Error('agent already started');
    this.hubCa = this.deps.hubCa ?? (await readFile(this.config.caFile, 'utf8'));
    this.ca = this.deps.certificateAuthority ?? this.sdkAuthority();
    await this.openState();
    this.running = true;
    if (await this.identityStore.load()) this.goOnline();
    else this.enrolling = this.enrollLoop();
  }

  /** Stops: presence offline if connected, link closed, timers cleared. Local state stays. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.enrollWake?.();
    await this.enrolling;
    await this.goOffline();
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
    const q = this.config.queue;
    const t = await DiskQueue.open(this.files, 'queue/telemetry/', q);
    const c = await DiskQueue.open(this.files, 'queue/control/', CONTROL_LIMITS);
    this.telemetry = t.queue;
    this.control = c.queue;
    await this.twin.load();
    await this.commands.load();
    if (t.corrupt + c.corrupt > 0)
      this.report(this.event('queue-corrupt', 'warning', { removed: t.corrupt + c.corrupt }));
  }

  private sdkAuthority(): CertificateAuthority {
    const trust = () => [this.hubCa, ...(this.identity ? [this.identity.hubCa] : [])];
    return {
      enroll: (token, csr) =>
        createClient({ baseUrl: this.config.hubUrl, fetch: httpsFetch({ ca: trust() }) }).enroll({
          token,
          csr,
        }),
      renew: (csr, cur) =>
        createClient({
          baseUrl: this.config.hubUrl,
          fetch: httpsFetch({ ca: trust(), key: cur.keyPem, cert: cur.certPem + cur.chain[0] }),
        }).pki.renew(csr),
    };
  }

  private async credential(): Promise<Credential | undefined> {
    const e = this.config.enrollment;
    if (e.factoryIdentityDir !== undefined) return { factoryIdentityDir: e.factoryIdentityDir };
    if (e.token !== undefined) return { token: e.token };
    if (e.tokenFile !== undefined) {
      try {
        const token = (await readFile(e.tokenFile, 'utf8')).trim();
        return token === '' ? undefined : { token };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** Tries to enroll until it works or the agent stops, backing off between attempts. */
  private async enrollLoop(): Promise<void> {
    const backoff = new Backoff(
      this.config.connection.backoffMinMs,
      this.config.connection.backoffMaxMs,
      this.deps.random,
    );
    while (this.running && this.identity === undefined) {
      const cred = await this.credential();
      try {
        if (cred === undefined)
          throw new Error('the device has no identity and no enrollment credential');
        const m = await this.identityStore.enroll(cred, this.ca!);
        this.log('info', `enrolled as device ${m.deviceId}`);
        this.emit('enrolled', m);
        break;
      } catch (err) {
        this.log('warn', `enrollment failed: ${(err as Error).message}`);
        this.emit('enrollment-failed', err);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff.next());
          this.enrollWake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
    this.enrolling = undefined;
    if (this.running && this.identity !== undefined) this.goOnline();
  }

  private endpoint(): LinkEndpoint | undefined {
    const m = this.identity;
    if (m === undefined) return undefined;
    const plaintext = this.config.mqttUrl.startsWith('mqtt:');
    return {
      url: this.config.mqttUrl,
      clientId: m.deviceId,
      ...(plaintext
        ? {}
        : {
            tls: { key: m.keyPem, cert: m.certPem + (m.chain[0] ?? ''), ca: [this.hubCa, m.hubCa] },
          }),
      will: { topic: deviceTopic.presence(m.deviceId), payload: this.presence(false) },
      keepaliveSeconds:
        (this.twin.get('network.keepaliveSeconds') as number | undefined) ??
        this.config.connection.keepaliveSeconds,
    };
  }

  private presence(online: boolean): Uint8Array {
    const p: Presence = online ? { online, mode: this.config.device.mode } : { online };
    return enc.encode(JSON.stringify(p));
  }

  private get mode(): AgentConfig['connection']['mode'] {
    return (
      (this.twin.get('network.connectionMode') as AgentConfig['connection']['mode'] | undefined) ??
      this.config.connection.mode
    );
  }

  private goOnline(): void {
    if (this.online || !this.running) return;
    this.online = true;
    this.link = new Link(
      {
        endpoint: () => this.endpoint(),
        onConnect: (link) => this.onConnect(link),
        onMessage: (topic, payload) => this.onMessage(topic, payload),
        onDown: (reason) => this.onDown(reason),
        log: (level, msg) => this.log(level, msg),
      },
      {
        minMs: this.config.connection.backoffMinMs,
        maxMs: this.config.connection.backoffMaxMs,
        ...(this.deps.random ? { random: this.deps.random } : {}),
      },
    );
    this.wantLink(true);
    this.scheduleMetrics();
    this.scheduleRenewal(0);
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
    // Checked every second in every mode: the twin may switch the connection mode at run time.
    this.idleTimer = setInterval(() => this.checkIdle(), 1000);
  }

  private async goOffline(): Promise<void> {
    this.online = false;
    for (const t of [this.graceTimer, this.metricsTimer, this.renewTimer, this.periodTimer])
      clearTimeout(t);
    clearInterval(this.idleTimer);
    this.watcher?.stop();
    this.watcher = undefined;
    const link = this.link;
    this.link = undefined;
    if (link !== undefined && this.identity !== undefined)
      await link.stop({
        topic: deviceTopic.presence(this.identity.deviceId),
        payload: this.presence(false),
        retain: true,
      });
  }

  private wantLink(on: boolean): void {
    // Late callbacks (an idle check finishing after stop) must not arm timers on a stopped agent.
    if (!this.online) return;
    this.linkWanted = on;
    this.link?.want(on);
    if (on && !this.connected) this.armGrace();
    if (!on) clearTimeout(this.graceTimer);
  }

  // ── connection events ───────────────────────────────────────────────────────────────────────

  private async onConnect(link: Link): Promise<void> {
    const id = this.identity!.deviceId;
    const granted = await link.subscribe(deviceTopic.inbound(id));
    if (granted.some((g) => g >= 0x80))
      throw new Error('the hub refused the management subscriptions');
    await link.publish(deviceTopic.presence(id), this.presence(true), { qos: 1, retain: true });
    this.touch();
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.linkLost) {
      const downMs = this.clock.now() - (this.downSince ?? this.clock.now());
      this.linkLost = false;
      this.report(this.event('link-restored', 'info', { downSeconds: Math.round(downMs / 1000) }));
      await this.autonomy.onLink('link-restored');
    }
    this.downSince = undefined;
    this.log('info', `connected to ${this.config.mqttUrl} as ${id}`);
    this.emit('connected');
    this.pump();
    if (this.identityStore.needsRenewal(this.clock.now(), this.config.renewal.atFraction))
      this.scheduleRenewal(0);
  }

  private onDown(reason: string): void {
    this.log('warn', `disconnected: ${reason}`);
    this.emit('disconnected', reason);
    if (this.online) this.armGrace();
  }

  /** Starts the link-lost grace period (if the link is wanted and not already counting). */
  private armGrace(): void {
    if (!this.online) return;
    this.downSince ??= this.clock.now();
    if (this.graceTimer !== undefined || this.linkLost) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.connected || !this.online) return;
      this.linkLost = true;
      this.report(
        this.event('link-lost', 'warning', {
          since: new Date(this.downSince ?? this.clock.now()).toISOString(),
          mode: this.config.device.mode,
        }),
      );
      this.emit('link-lost');
      void this.autonomy.onLink('link-lost');
    }, this.config.device.linkLostGraceSeconds * 1000);
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    const id = this.identity?.deviceId;
    if (id === undefined) return;
    this.touch();
    if (topic === deviceTopic.desired(id)) {
      let d: DesiredTwin;
      try {
        d = JSON.parse(dec.decode(payload)) as DesiredTwin;
        if (typeof d !== 'object' || d === null || typeof d.version !== 'number')
          throw new Error('no version');
      } catch (err) {
        this.report(this.event('invalid-desired', 'warning', { message: (err as Error).message }));
        return;
      }
      this.twin.applyDesired(d).then(
        (r) => r && this.emit('twin-applied', r),
        (err: Error) => this.log('error', `applying desired twin: ${err.message}`),
      );
      return;
    }
    const prefix = `$devices/${id}/commands/`;
    if (topic.startsWith(prefix)) {
      const cid = topic.slice(prefix.length);
      if (cid.includes('/')) return;
      this.commands.handle(cid, payload).catch((err: Error) => {
        this.log('error', `command ${cid}: ${err.message}`);
      });
    }
  }

  private touch(): void {
    this.lastActivity = this.clock.now();
  }

  /** periodic / on-demand: drop the link when nothing has moved for `idleSeconds`. */
  private checkIdle(): void {
    if (this.mode === 'persistent') {
      // Switched to persistent (twin) while the link was parked: bring it back.
      if (!this.linkWanted) this.wantLink(true);
      return;
    }
    if (!this.connected || this.pumping || this.commands.running > 0) return;
    if (this.telemetry.length + this.control.length + this.memoryEvents.length > 0) return;
    if (Date.now() - this.lastActivityWall() < this.config.connection.idleSeconds * 1000) return;
    const id = this.identity!.deviceId;
    void this.link
      ?.publish(deviceTopic.presence(id), this.presence(false), { qos: 1, retain: true })
      .catch(() => undefined)
      .finally(() => {
        if (!this.online) return;
        this.wantLink(false);
        if (this.mode === 'periodic') {
          clearTimeout(this.periodTimer);
          this.periodTimer = setTimeout(
            () => this.wantLink(true),
            ((this.twin.get('network.periodicIntervalSeconds') as number | undefined) ??
              this.config.connection.intervalSeconds) * 1000,
          );
        }
      });
  }

  /** Activity is stamped on the agent clock; idle is measured in wall time (a test clock may stand still). */
  private lastActivityWall(): number {
    return Date.now() - (this.clock.now() - this.lastActivity);
  }

  // ── outbound ────────────────────────────────────────────────────────────────────────────────

  /**
   * Telemetry: queued durably on the device, sent in order when the link is up, removed after the
   * hub's PUBACK. Rejects (code `queue_full`, `disk_full`, `invalid_topic`) without changing the queue.
   */
  async publish(
    channelId: string,
    subtopic: string,
    payload: Uint8Array | string,
    contentType = 'application/octet-stream',
  ): Promise<void> {
    if (!/^[0-9a-f-]{36}$/.test(channelId) || hasWildcard(subtopic) || subtopic.startsWith('/'))
      throw perr('invalid_topic', `invalid channel ${channelId} or subtopic ${subtopic}`);
    const bytes = typeof payload === 'string' ? enc.encode(payload) : payload;
    try {
      const r = await this.telemetry.push({
        topic: channelTopic(channelId, subtopic),
        payload: bytes,
        contentType,
        qos: 1,
        at: this.clock.now(),
      });
      if (r.dropped > 0) {
        this.counters.dropped += r.dropped;
        this.refused('queue-overflow', r.dropped, { policy: 'drop-oldest' });
      }
    } catch (err) {
      if (err instanceof QueueFullError) {
        this.counters.refusedFull++;
        this.refused('queue-overflow', 1, { policy: this.config.queue.overflow });
        throw perr('queue_full', err.message);
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        this.counters.refusedDisk++;
        this.refused('telemetry-refused', 1, { reason: 'disk-full' });
        throw perr('disk_full', 'the device disk is full: telemetry refused');
      }
      throw err;
    }
    this.demand();
  }

  /** Records an event; it reaches the hub (`events`) when connected, in order. */
  report(event: DeviceEvent): void {
    this.emit('event', event);
    const id = this.identity?.deviceId;
    // Not started yet, or no identity: kept in memory and sent once connected.
    if (id === undefined || this.control === undefined) {
      this.pushMemoryEvent(event);
      return;
    }
    this.control
      .push({
        topic: deviceTopic.events(id),
        payload: enc.encode(JSON.stringify([event])),
        contentType: 'application/json',
        qos: 1,
        at: this.clock.now(),
      })
      .then(
        () => this.demand(),
        () => this.pushMemoryEvent(event),
      );
  }

  private pushMemoryEvent(e: DeviceEvent): void {
    this.memoryEvents.push(e);
    if (this.memoryEvents.length > MEMORY_EVENTS_MAX) this.memoryEvents.shift();
  }

  private event(
    kind: string,
    severity: DeviceEvent['severity'],
    detail: DeviceEvent['detail'],
  ): DeviceEvent {
    return { kind, severity, at: new Date(this.clock.now()).toISOString(), detail };
  }

  /** Counts a refusal and reports it, at most one event a minute per kind with the running total. */
  private refused(kind: string, n: number, detail: { [k: string]: TwinValue }): void {
    const r = this.refusals.get(kind) ?? { count: 0, lastEventAt: -Infinity };
    r.count += n;
    this.refusals.set(kind, r);
    const now = this.clock.now();
    if (now - r.lastEventAt < REFUSAL_EVENT_EVERY_MS) return;
    r.lastEventAt = now;
    this.report(this.event(kind, 'warning', { ...detail, count: r.count }));
  }

  private sendReported(r: ReportedTwin): Promise<void> {
    const id = this.identity?.deviceId;
    if (id === undefined) return Promise.resolve();
    this.emit('reported', r);
    return this.control
      .push({
        topic: deviceTopic.reported(id),
        payload: enc.encode(JSON.stringify(r)),
        contentType: 'application/json',
        qos: 1,
        at: this.clock.now(),
      })
      .then(() => this.demand());
  }

  private sendStatus(cid: string, s: CommandStatus): Promise<void> {
    const id = this.identity!.deviceId;
    this.emit('command-status', cid, s);
    return this.control
      .push({
        topic: deviceTopic.commandStatus(id, cid),
        payload: enc.encode(JSON.stringify(s)),
        contentType: 'application/json',
        qos: 1,
        at: this.clock.now(),
      })
      .then(() => this.demand());
  }

  /** Something to send: pump now, or (on-demand / periodic) bring the link up. */
  private demand(): void {
    if (!this.online) return;
    if (this.connected) this.pump();
    else if (this.mode === 'on-demand') this.wantLink(true);
  }

  /**
   * Sends what is queued, control messages first, each queue in order, a window at a time; an
   * entry is removed only after its PUBACK. A failure (the link dropped) stops the round; what
   * was not acknowledged is sent again on the next connection.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          while (this.connected) {
            const link = this.link!;
            if (this.memoryEvents.length > 0 && this.identity) {
              const events = this.memoryEvents.splice(0);
              await link
                .publish(
                  deviceTopic.events(this.identity.deviceId),
                  enc.encode(JSON.stringify(events)),
                  { qos: 1 },
                )
                .catch(() => this.memoryEvents.unshift(...events));
            }
            let q = this.control;
            let batch: QueueEntry[] = await q.peek(WINDOW);
            if (batch.length === 0) {
              q = this.telemetry;
              batch = await q.peek(WINDOW);
            }
            if (batch.length === 0) break;
            const results = await Promise.allSettled(
              batch.map((e) =>
                link.publish(e.topic, e.payload, {
                  qos: e.qos,
                  ...(e.contentType !== undefined ? { contentType: e.contentType } : {}),
                }),
              ),
            );
            let failed = false;
            for (const [i, r] of results.entries()) {
              const e = batch[i]!;
              if (r.status === 'fulfilled') {
                await q.ack(e.seq);
                this.counters.sent++;
              } else if ((r.reason as { reasonCode?: number }).reasonCode !== undefined) {
                // The hub answered and refused this message (not authorized, too large…): sending
                // it again would be refused again, so it is dropped and reported.
                await q.ack(e.seq);
                this.report(
                  this.event('message-refused', 'warning', {
                    topic: e.topic,
                    reason: (r.reason as Error).message,
                  }),
                );
              } else failed = true;
            }
            this.touch();
            if (failed) break;
          }
        } while (this.pumpAgain && this.connected);
      } catch (err) {
        this.log('error', `sending the queue: ${(err as Error).message}`);
      } finally {
        this.pumping = false;
        this.emit('drained');
      }
    })();
  }

  /** Resolves when both queues are empty and sent (or after `ms`, rejecting). */
  async flush(ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    while (this.telemetry.length + this.control.length > 0) {
      if (Date.now() > until) throw new Error('queue not drained in time');
      if (this.connected) this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // ── periodic work ───────────────────────────────────────────────────────────────────────────

  private scheduleMetrics(): void {
    const secs =
      (this.twin.get('sampling.metricsIntervalSeconds') as number | undefined) ??
      this.config.metrics.intervalSeconds;
    this.metricsTimer = setTimeout(() => {
      void this.sampleMetrics().finally(() => {
        if (this.online) this.scheduleMetrics();
      });
    }, secs * 1000);
  }

  /** Takes one metrics snapshot: published (QoS 0, not queued) when connected, fed to the rules. */
  async sampleMetrics(): Promise<DeviceMetrics | undefined> {
    let m: DeviceMetrics;
    try {
      m = await this.system.metrics();
    } catch (err) {
      this.log('warn', `metrics: ${(err as Error).message}`);
      return undefined;
    }
    this.emit('metrics', m);
    const id = this.identity?.deviceId;
    if (id !== undefined && this.connected)
      await this.link!.publish(deviceTopic.metrics(id), enc.encode(JSON.stringify(m)), {
        qos: 0,
      }).catch(() => undefined);
    await this.autonomy.onMetrics(m);
    return m;
  }

  private scheduleRenewal(delayMs: number): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.maybeRenew(), delayMs);
  }

  /** Renews the certificate once `renewal.atFraction` of its lifetime has passed. */
  async maybeRenew(): Promise<boolean> {
    const m = this.identity;
    if (m === undefined || !this.online) return false;
    const f = this.config.renewal.atFraction;
    // At most one renewal an hour: a device clock far ahead of the hub's would otherwise find
    // every fresh certificate already due and renew in a loop.
    const due = Math.max(
      m.notBefore + (m.notAfter - m.notBefore) * f,
      this.lastRenewalAt + RENEW_CHECK_MS,
    );
    if (this.clock.now() < due) {
      this.scheduleRenewal(Math.min(RENEW_CHECK_MS, due - this.clock.now()));
      return false;
    }
    this.lastRenewalAt = this.clock.now();
    try {
      const next = await this.identityStore.renew(this.ca!);
      this.log('info', `certificate renewed (serial ${next.serial})`);
      this.emit('renewed', next);
      this.link?.reconnect();
      if (this.online) this.scheduleRenewal(RENEW_CHECK_MS);
      return true;
    } catch (err) {
      this.log('warn', `certificate renewal failed: ${(err as Error).message}`);
      // Retried within minutes rather than hours: the certificate is already two-thirds through.
      this.lastRenewalAt = -Infinity;
      if (this.online)
        this.scheduleRenewal(Math.min(RENEW_CHECK_MS, 60_000 + Math.random() * 240_000));
      return false;
    }
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
    await this.goOffline();
    await this.files.wipe();
    this.identityStore = new IdentityStore(this.files);
    this.twin.reset();
    this.commands.reset();
    this.memoryEvents = [];
    this.linkLost = false;
    await this.openState();
    this.emit('factory-reset');
    if (this.running) this.enrolling = this.enrollLoop();
  }

  // ── the local management port's view ──────────────────────────────────────────────────────

  /** What the local port (LocalPortServer) needs; requires an identity. */
  localPortHost(): LocalPortHost {
    const id = () => {
      const m = this.identity;
      if (m === undefined) throw new Error('the device has no identity yet');
      return m;
    };
    return {
      get deviceId() {
        return id().deviceId;
      },
      get orgId() {
        return id().orgId;
      },
      tlsCredentials: () => ({ key: id().keyPem, cert: id().certPem + (id().chain[0] ?? '') }),
      ticketIssuers: () => id().chain.slice(0, 1),
      revokedTickets: () =>
        new Set((this.twin.get('tickets.revoked') as string[] | undefined) ?? []),
      getParam: (path) => this.twin.get(path),
      listParams: () => this.twin.list(),
      setParam: (path, value) => this.twin.set(path, value),
      reboot: () => this.reboot(),
      factoryReset: () => this.factoryReset(),
      report: (e) => this.report(e),
      files: this.files,
      clock: this.clock,
    };
  }
}
