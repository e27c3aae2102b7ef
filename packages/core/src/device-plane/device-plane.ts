/**
 * The hub's side of the device management plane (DESIGN.md §3, decision 0015), behind the
 * `DeviceLink` port so any link — MQTT today, the gateway and CoAP later — carries it: takes what
 * a device reports on its plane (reported twin, command statuses, events, logs, metrics, presence,
 * update statuses, installed firmware) into the management services, and delivers what the hub
 * holds for it — the desired twin (retained), queued commands, update offers and cancels — once
 * its session takes them.
 *
 * The database is the durable command queue: a command for an offline device waits there and is
 * delivered when the device next subscribes (unless its deadline passed), on whichever node it
 * connects to. Changes made on this node are pushed at once; every node also sweeps (the hub
 * calls `sweep` every couple of seconds) for queued commands and newer desired versions of the
 * devices connected to it (a change made on another node), expires commands past their
 * deadline, and every ~30 s vouches for its devices so a dead node's devices are marked offline.
 */
import {
  DEVICE_PLANE,
  parseDevicePlaneTopic,
  type CommandRequest,
  type TunnelOffer,
  type DevicePlaneKind,
} from '@bulwark/protocol';
import {
  parseCommandStatus,
  parseDeviceEvents,
  parseDeviceMetrics,
  parsePresence,
  parseReportedTwin,
} from '../management/device-payloads.js';
import type { CommandService } from '../management/command-service.js';
import type { DeviceLogService } from '../logs/device-log-service.js';
import { parseDeviceLogBatch } from '../logs/log-payloads.js';
import type { DetectEngine } from '../detect/engine.js';
import type { MetricsHistoryService } from '../management/metrics-history.js';
import type { PresenceService } from '../management/presence-service.js';
import type { ManagementSignals } from '../management/signals.js';
import type { TwinService } from '../management/twin-service.js';
import type { CommandRecord, DesiredTwinRecord } from '../ports/management.js';
import type { TicketService } from '../tickets/ticket-service.js';
import type { UpdateJobService } from '../updates/job-service.js';
import { parseInstalledFirmware, parseUpdateStatusReport } from '../updates/update-payloads.js';
import type {
  DeviceLink,
  DevicePlaneInbound,
  DevicePlaneLog,
  DeviceSession,
  SessionEnd,
} from './link.js';
import { DeviceSessions, type HeldSession } from './sessions.js';
import { UpdateDelivery, type UpdateDeliveryDeps } from './update-delivery.js';

/**
 * Every this many sweeps (~30 s at the hub's 2 s) a node vouches for the devices connected to it,
 * then marks offline the devices no node has vouched for in STALE_MS: their node died.
 */
const HEARTBEAT_EVERY_SWEEPS = 15;
/** Four heartbeats missed: generous against clock skew between nodes and slow sweeps. */
const STALE_MS = 120_000;
/** Commands delivered per device per sweep (the rest follow in the next sweeps). */
const COMMANDS_PER_SWEEP = 100;

/** What the device plane works with: the management services, the link, a logger. */
export interface DevicePlaneDeps {
  twins: Pick<TwinService, 'acceptReported' | 'desired' | 'desiredVersions'>;
  commands: Pick<CommandService, 'acceptStatus' | 'pending' | 'expireDue'>;
  presence: Pick<
    PresenceService,
    'connected' | 'disconnected' | 'report' | 'events' | 'metrics' | 'heartbeat' | 'reapStale'
  >;
  tickets: Pick<TicketService, 'recordLocalSession'>;
  /** Central device logs (decision 0032). */
  logs: Pick<DeviceLogService, 'ingest'>;
  updates: UpdateDeliveryDeps['updates'] & Pick<UpdateJobService, 'report' | 'installedReported'>;
  signals: ManagementSignals;
  link: DeviceLink;
  log: DevicePlaneLog;
  /** Told what the agent reports — its metrics and events — for detection (decision 0034). */
  detect?: Pick<DetectEngine, 'metrics' | 'deviceEvents'>;
  /** Keeps each metrics report for the health charts (decision 0038 amendment). */
  history?: Pick<MetricsHistoryService, 'record'>;
}

/** The device plane of one hub node. */
export class DevicePlane implements DevicePlaneInbound {
  readonly #d: DevicePlaneDeps;
  readonly #sessions = new DeviceSessions();
  readonly #updates: UpdateDelivery;
  readonly #unlisten: () => void;
  /** Per device: its connects and disconnects stored in the order they happened. */
  readonly #chains = new Map<string, Promise<void>>();
  #sweeping: Promise<void> | null = null;
  #sweeps = 0;
  #stopping = false;

  constructor(d: DevicePlaneDeps) {
    this.#d = d;
    this.#updates = new UpdateDelivery({ ...d, sessions: this.#sessions });
    this.#unlisten = d.signals.listen({
      desiredChanged: (rec) => {
        const h = this.#sessions.find(rec.orgId, rec.deviceId);
        if (h) this.#sendDesired(h, rec);
      },
      commandQueued: (c) => {
        const h = this.#sessions.find(c.orgId, c.deviceId);
        if (h) this.#sendCommand(h, c);
      },
    });
  }

  /**
   * Asks the device to dial a remote-access relay session (decision 0042). False when the device
   * has no session on this node that takes tunnel offers: nothing is queued, an offer is only
   * good for the seconds its pairing lasts.
   */
  offerTunnel(orgId: string, deviceId: string, offer: TunnelOffer): boolean {
    const h = this.#sessions.find(orgId, deviceId);
    if (!h || !h.takes.has('tunnel')) return false;
    return this.#d.link.deliver(h.session, { kind: 'tunnel', body: offer });
  }

  // ── inbound (DevicePlaneInbound) ─────────────────────────────────────────────────────────────

  connected(session: DeviceSession): void {
    this.#sessions.open(session);
    const { orgId, deviceId, sessionId } = session;
    this.#inOrder(
      deviceId,
      () => this.#d.presence.connected(orgId, deviceId, sessionId),
      'presence (connect)',
    );
  }

  disconnected(session: DeviceSession, end: SessionEnd): void {
    this.#sessions.close(session);
    const { orgId, deviceId, sessionId } = session;
    // The hub going down is not the device dropping off either.
    const clean = end.clean || this.#stopping;
    this.#inOrder(
      deviceId,
      () =>
        this.#d.presence.disconnected(orgId, deviceId, sessionId, { clean, reason: end.reason }),
      'presence (disconnect)',
    );
  }

  subscribed(session: DeviceSession, kinds: readonly DevicePlaneKind[]): void {
    const h = this.#sessions.of(session);
    if (!h) return;
    let catchUp = false;
    for (const k of kinds) {
      h.takes.add(k);
      // Every (re)subscription to the twin gets the current desired twin, retained.
      if (k === 'desired') h.sentDesired = 0;
      if (k === 'desired' || k === 'command') catchUp = true;
    }
    if (catchUp) this.#catchUp(h).catch(this.#fail('delivery on subscribe'));
    if (kinds.includes('updateOffer')) this.#updates.subscribed(h);
  }

  async report(
    session: DeviceSession,
    rest: string,
    payload: Uint8Array,
    opts: { will?: boolean } = {},
  ): Promise<boolean> {
    if (this.#stopping && opts.will) return true; // the hub is going down, the device did not
    const m = parseDevicePlaneTopic(rest);
    // Not a message of the plane, or one only the hub sends: not ours (the link decides).
    if (!m || DEVICE_PLANE[m.kind].from !== 'device') return false;
    const { orgId, deviceId, sessionId } = session;
    const s = this.#d;
    switch (m.kind) {
      case 'reported':
        await s.twins.acceptReported(orgId, deviceId, parseReportedTwin(payload));
        return true;
      case 'commandStatus':
        await s.commands.acceptStatus(orgId, deviceId, m.param!, parseCommandStatus(payload));
        return true;
      case 'events': {
        const events = parseDeviceEvents(payload);
        await s.presence.events(orgId, deviceId, events);
        s.detect?.deviceEvents(orgId, deviceId, events).catch(this.#fail('detect (events)'));
        // Sessions on the device's local management port belong in the audit log too.
        for (const e of events) await s.tickets.recordLocalSession(orgId, deviceId, e);
        return true;
      }
      case 'logs':
        // Stored before the PUBACK: the agent drops from its buffer only what the hub holds.
        await s.logs.ingest(orgId, deviceId, parseDeviceLogBatch(payload));
        return true;
      case 'metrics': {
        const metrics = parseDeviceMetrics(payload);
        await s.presence.metrics(orgId, deviceId, sessionId, metrics);
        s.history?.record(deviceId, metrics);
        s.detect?.metrics(orgId, deviceId, metrics).catch(this.#fail('detect (metrics)'));
        return true;
      }
      case 'presence':
        await s.presence.report(
          orgId,
          deviceId,
          sessionId,
          parsePresence(payload),
          opts.will === true,
        );
        return true;
      case 'updateStatus':
        await s.updates.report(orgId, deviceId, m.param!, parseUpdateStatusReport(payload));
        return true;
      case 'firmware':
        await s.updates.installedReported(orgId, deviceId, parseInstalledFirmware(payload));
        return true;
      default:
        return false;
    }
  }

  // ── the node's upkeep ────────────────────────────────────────────────────────────────────────

  /** One sweep now (the hub's timer calls this; tests too). One at a time. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepOnce()
      .catch(this.#fail('sweep'))
      .finally(() => {
        this.#sweeping = null;
      });
    return this.#sweeping;
  }

  /** Vouches for this node's devices and reaps stale presence now (every ~30 s on its own). */
  async heartbeat(): Promise<void> {
    for (const [orgId, held] of this.#sessions.all())
      await this.#d.presence.heartbeat(
        orgId,
        held.map((h) => h.session.sessionId),
      );
    // Vouch first, then reap: a device connected here is never taken for stale.
    await this.#d.presence.reapStale(STALE_MS);
  }

  /** Stops listening; sessions ending from now on are the hub shutting down. */
  stop(): void {
    this.#stopping = true;
    this.#unlisten();
    this.#updates.stop();
  }

  /** Waits for presence changes and a sweep in progress (after the links closed). */
  async drain(): Promise<void> {
    await Promise.all([...this.#chains.values(), this.#sweeping ?? Promise.resolve()]);
  }

  // ── delivery ─────────────────────────────────────────────────────────────────────────────────

  #sendDesired(h: HeldSession, rec: DesiredTwinRecord): void {
    if (!h.takes.has('desired') || rec.version <= h.sentDesired) return;
    const body = { version: rec.version, state: rec.state };
    if (this.#d.link.deliver(h.session, { kind: 'desired', body })) h.sentDesired = rec.version;
  }

  #sendCommand(h: HeldSession, c: CommandRecord): void {
    if (!h.takes.has('command') || h.sentCommands.has(c.id) || c.state !== 'queued') return;
    const body: CommandRequest = {
      id: c.id,
      name: c.name,
      params: c.params,
      deadline: new Date(c.deadline).toISOString(),
    };
    if (this.#d.link.deliver(h.session, { kind: 'command', body })) h.sentCommands.add(c.id);
  }

  /** Everything owed to one session: its desired twin if newer, and its queued commands. */
  async #catchUp(h: HeldSession): Promise<void> {
    const { orgId, deviceId } = h.session;
    if (h.takes.has('desired')) {
      const rec = await this.#d.twins.desired(orgId, deviceId);
      if (rec && this.#sessions.current(h)) this.#sendDesired(h, rec);
    }
    if (h.takes.has('command')) {
      for (const c of await this.#d.commands.pending(orgId, [deviceId], COMMANDS_PER_SWEEP)) {
        if (this.#sessions.current(h)) this.#sendCommand(h, c);
      }
    }
  }

  async #sweepOnce(): Promise<void> {
    if (this.#sweeps++ % HEARTBEAT_EVERY_SWEEPS === 0) await this.heartbeat();
    await this.#d.commands.expireDue();
    await this.#updates.sweep();
    for (const [orgId, held] of this.#sessions.byOrg(['desired', 'command'])) {
      const ids = held.map((h) => h.session.deviceId);
      const versions = await this.#d.twins.desiredVersions(orgId, ids);
      for (const h of held) {
        const id = h.session.deviceId;
        if (h.takes.has('desired') && (versions.get(id) ?? 0) > h.sentDesired) {
          const rec = await this.#d.twins.desired(orgId, id);
          if (rec && this.#sessions.current(h)) this.#sendDesired(h, rec);
        }
      }
      for (const c of await this.#d.commands.pending(orgId, ids, COMMANDS_PER_SWEEP * ids.length)) {
        const h = this.#sessions.find(orgId, c.deviceId);
        if (h) this.#sendCommand(h, c);
      }
    }
  }

  /**
   * A device's connects and disconnects are stored in the order they happened: a quick
   * connect-drop-reconnect must not leave the older connection's state last.
   */
  #inOrder(deviceId: string, step: () => Promise<unknown>, what: string): void {
    const next = (this.#chains.get(deviceId) ?? Promise.resolve()).then(step).then(
      () => undefined,
      (err: unknown) => this.#fail(what)(err),
    );
    this.#chains.set(deviceId, next);
    void next.finally(() => {
      if (this.#chains.get(deviceId) === next) this.#chains.delete(deviceId);
    });
  }

  #fail(what: string) {
    return (err: unknown) => this.#d.log.warn({ err }, `device plane: ${what}`);
  }
}
