/**
 * Connection scheduling: when the agent is online (it has an identity and is started) this keeps
 * its one Link according to the connection mode — persistent, periodic (a window every
 * interval) or on-demand (up while there is something to send) — with the idle check and the
 * period timer, the presence messages (retained, and the will), the link-lost grace period that
 * turns a long outage into `link-lost` (and triggers the autonomous rules), and `link-restored`.
 */
import {
  deviceSubscriptions,
  deviceTopic,
  type DeviceEvent,
  type Presence,
} from '@bulwark/protocol';
import type { AgentConfig } from '../config.js';
import type { AgentClock } from '../ports.js';
import type { IdentityMaterial } from './identity.js';
import { Link, type LinkEndpoint } from './link.js';
import { deviceEvent } from './outbox.js';
import type { Twin } from './twin.js';

/** What connection scheduling works with. */
export interface ConnectionDeps {
  config: AgentConfig;
  clock: AgentClock;
  twin: Twin;
  random?: (() => number) | undefined;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  identity(): IdentityMaterial | undefined;
  /** The CA(s) configured for the hub. */
  hubCa(): string;
  /** Whether the agent is started. */
  running(): boolean;
  /** Whether outbound work is running or waiting (keeps a periodic / on-demand link up). */
  busy(): boolean;
  /** Sends what is queued. */
  pump(): void;
  /** A message arrived from the hub. */
  onMessage(topic: string, payload: Uint8Array): void;
  /** Going online: start the periodic work. */
  onOnline(): void;
  /** Going offline: stop the periodic work. */
  onOffline(): void;
  /** Connected (subscribed, presence sent). */
  onConnected(): void;
  /** Records an event (the agent's `report`). */
  report(event: DeviceEvent): void;
  /** Emits an agent event (`disconnected`, `link-lost`). */
  emit(event: string, ...args: unknown[]): void;
  /** Tells the autonomous rules the link was lost or is back. */
  onLink(event: 'link-lost' | 'link-restored'): Promise<void>;
}

const enc = new TextEncoder();

/** The link to the hub and when it is up. */
export class Connection {
  /** Online: the agent has a Link (connected or not) and its timers run. */
  online = false;
  /** The link has been down longer than the grace period. */
  linkLost = false;
  link: Link | undefined;
  private downSince: number | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private periodTimer: NodeJS.Timeout | undefined;
  private lastActivity = 0;
  private linkWanted = false;

  constructor(private readonly deps: ConnectionDeps) {}

  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  private get mode(): AgentConfig['connection']['mode'] {
    return (
      (this.deps.twin.get('network.connectionMode') as
        AgentConfig['connection']['mode'] | undefined) ?? this.deps.config.connection.mode
    );
  }

  private endpoint(): LinkEndpoint | undefined {
    const { config, twin } = this.deps;
    const m = this.deps.identity();
    if (m === undefined) return undefined;
    const plaintext = config.mqttUrl.startsWith('mqtt:');
    return {
      url: config.mqttUrl,
      clientId: m.deviceId,
      ...(plaintext
        ? {}
        : {
            tls: {
              key: m.keyPem,
              cert: m.certPem + (m.chain[0] ?? ''),
              ca: [this.deps.hubCa(), m.hubCa],
            },
          }),
      will: { topic: deviceTopic.presence(m.deviceId), payload: this.presence(false) },
      keepaliveSeconds:
        (twin.get('network.keepaliveSeconds') as number | undefined) ??
        config.connection.keepaliveSeconds,
    };
  }

  private presence(online: boolean): Uint8Array {
    const p: Presence = online ? { online, mode: this.deps.config.device.mode } : { online };
    return enc.encode(JSON.stringify(p));
  }

  /** Creates the link and starts the timers (once the agent is running with an identity). */
  goOnline(): void {
    const { config } = this.deps;
    if (this.online || !this.deps.running()) return;
    this.online = true;
    this.link = new Link(
      {
        endpoint: () => this.endpoint(),
        onConnect: (link) => this.onConnect(link),
        onMessage: (topic, payload) => this.deps.onMessage(topic, payload),
        onDown: (reason) => this.onDown(reason),
        log: (level, msg) => this.deps.log(level, msg),
      },
      {
        minMs: config.connection.backoffMinMs,
        maxMs: config.connection.backoffMaxMs,
        ...(this.deps.random ? { random: this.deps.random } : {}),
      },
    );
    this.wantLink(true);
    this.deps.onOnline();
    // Checked every second in every mode: the twin may switch the connection mode at run time.
    this.idleTimer = setInterval(() => this.checkIdle(), 1000);
  }

  /** Clears the timers and closes the link, saying goodbye (presence offline) if it can. */
  async goOffline(): Promise<void> {
    this.online = false;
    for (const t of [this.graceTimer, this.periodTimer]) clearTimeout(t);
    clearInterval(this.idleTimer);
    this.deps.onOffline();
    const link = this.link;
    this.link = undefined;
    const m = this.deps.identity();
    if (link !== undefined && m !== undefined)
      await link.stop({
        topic: deviceTopic.presence(m.deviceId),
        payload: this.presence(false),
        retain: true,
      });
  }

  /** Something to send: pump now, or (on-demand / periodic) bring the link up. */
  demand(): void {
    if (!this.online) return;
    if (this.connected) this.deps.pump();
    else if (this.mode === 'on-demand') this.wantLink(true);
  }

  /** Traffic moved: restarts the idle count. */
  touch(): void {
    this.lastActivity = this.deps.clock.now();
  }

  private wantLink(on: boolean): void {
    // Late callbacks (an idle check finishing after stop) must not arm timers on a stopped agent.
    if (!this.online) return;
    this.linkWanted = on;
    this.link?.want(on);
    if (on && !this.connected) this.armGrace();
    if (!on) clearTimeout(this.graceTimer);
  }

  private async onConnect(link: Link): Promise<void> {
    const { clock } = this.deps;
    const id = this.deps.identity()!.deviceId;
    const granted = await link.subscribe(deviceSubscriptions(id));
    if (granted.some((g) => g >= 0x80))
      throw new Error('the hub refused the management subscriptions');
    await link.publish(deviceTopic.presence(id), this.presence(true), { qos: 1, retain: true });
    this.touch();
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.linkLost) {
      const downMs = clock.now() - (this.downSince ?? clock.now());
      this.linkLost = false;
      this.deps.report(
        deviceEvent(clock, 'link-restored', 'info', { downSeconds: Math.round(downMs / 1000) }),
      );
      await this.deps.onLink('link-restored');
    }
    this.downSince = undefined;
    this.deps.log('info', `connected to ${this.deps.config.mqttUrl} as ${id}`);
    this.deps.onConnected();
  }

  private onDown(reason: string): void {
    this.deps.log('warn', `disconnected: ${reason}`);
    this.deps.emit('disconnected', reason);
    if (this.online) this.armGrace();
  }

  /** Starts the link-lost grace period (if the link is wanted and not already counting). */
  private armGrace(): void {
    const { clock, config } = this.deps;
    if (!this.online) return;
    this.downSince ??= clock.now();
    if (this.graceTimer !== undefined || this.linkLost) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.connected || !this.online) return;
      this.linkLost = true;
      this.deps.report(
        deviceEvent(clock, 'link-lost', 'warning', {
          since: new Date(this.downSince ?? clock.now()).toISOString(),
          mode: config.device.mode,
        }),
      );
      this.deps.emit('link-lost');
      void this.deps.onLink('link-lost');
    }, config.device.linkLostGraceSeconds * 1000);
  }

  /** periodic / on-demand: drop the link when nothing has moved for `idleSeconds`. */
  private checkIdle(): void {
    const { config, twin } = this.deps;
    if (this.mode === 'persistent') {
      // Switched to persistent (twin) while the link was parked: bring it back.
      if (!this.linkWanted) this.wantLink(true);
      return;
    }
    if (!this.connected || this.deps.busy()) return;
    if (Date.now() - this.lastActivityWall() < config.connection.idleSeconds * 1000) return;
    const id = this.deps.identity()!.deviceId;
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
            ((twin.get('network.periodicIntervalSeconds') as number | undefined) ??
              config.connection.intervalSeconds) * 1000,
          );
        }
      });
  }

  /** Activity is stamped on the agent clock; idle is measured in wall time (a test clock may stand still). */
  private lastActivityWall(): number {
    return Date.now() - (this.deps.clock.now() - this.lastActivity);
  }
}
