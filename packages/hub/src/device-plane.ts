/**
 * The hub's side of the device management plane (DESIGN.md §3, protocol device-plane.ts): takes
 * what a device publishes on `$devices/{id}/…` (reported twin, command statuses, events, metrics,
 * presence) into the management services, and delivers to it what the hub holds for it — the
 * desired twin (flagged retained, QoS 1) and queued commands (QoS 1) — once its SUBSCRIBE is in.
 * Firmware update jobs have their own part, update-plane.ts, driven from here.
 *
 * The database is the durable command queue: a command for an offline device waits there and is
 * delivered when the device next subscribes (unless its deadline passed), on whichever node it
 * connects to. Changes made on this node are pushed at once; every node also sweeps every couple
 * of seconds for queued commands and newer desired versions of the devices connected to it (a
 * change made on another node), and expires commands past their deadline.
 */
import type { Logger } from 'pino';
import { deviceTopic, updateTopic, type CommandRequest, type DesiredTwin } from '@bulwark/protocol';
import {
  parseCommandStatus,
  parseDeviceEvents,
  parseDeviceMetrics,
  parsePresence,
  parseReportedTwin,
  type CommandRecord,
  type DesiredTwinRecord,
} from '@bulwark/core';
import type { DevicePlaneHook, HubClient, MqttEngine } from '@bulwark/transport';
import type { HubServices } from './services.js';
import { createUpdatePlane } from './update-plane.js';

/** How often each node sweeps for work made elsewhere and for expired commands. */
export const DEVICE_PLANE_SWEEP_MS = 2000;
/**
 * Every this many sweeps (~30 s) a node vouches for the devices connected to it, then marks
 * offline the devices no node has vouched for in STALE_MS: their node died without a goodbye.
 */
const HEARTBEAT_EVERY_SWEEPS = 15;
/** Four heartbeats missed: generous against clock skew between nodes and slow sweeps. */
const STALE_MS = 120_000;
/** Commands delivered per device per sweep (the rest follow in the next sweeps). */
const COMMANDS_PER_SWEEP = 100;

/** A device connected to this node. */
interface Link {
  orgId: string;
  sessionId: string;
  /** The device subscribed to its desired twin / its commands. */
  desired: boolean;
  commands: boolean;
  /** The desired version last sent on this connection (0 = none). */
  sentDesired: number;
  /** Commands sent on this connection (resent on a new connection until the device confirms). */
  sentCommands: Set<string>;
}

/** The device plane of one hub node. */
export interface DevicePlane {
  /** For the MQTT hooks. */
  readonly hook: DevicePlaneHook;
  /** Starts pushing and sweeping on this engine. */
  start(engine: MqttEngine): void;
  /** One sweep now (the timer calls this; tests too). */
  sweep(): Promise<void>;
  /** Vouch for this node's devices and reap stale presence now (every ~30 s on its own). */
  heartbeat(): Promise<void>;
  /** Stops the sweep; connections closing from now on are the hub shutting down. */
  stop(): void;
  /** Waits for presence changes and a sweep in progress (after the engine closed). */
  drain(): Promise<void>;
}

/** Builds the device plane on the hub's services. */
export function createDevicePlane(d: {
  services: HubServices;
  log: Logger;
  sweepMs?: number;
}): DevicePlane {
  const { services: s, log } = d;
  const links = new Map<string, Link>();
  let engine: MqttEngine | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopping = false;
  let sweeping: Promise<void> | null = null;
  const fail = (what: string) => (err: unknown) => log.warn({ err }, `device plane: ${what}`);
  // Firmware update jobs: offers, status reports, installed firmware (update-plane.ts).
  const updates = createUpdatePlane({ services: s, log, engine: () => engine });

  // A device's connects and disconnects are stored in the order they happened: a quick
  // connect-drop-reconnect must not leave the older connection's state last.
  const chains = new Map<string, Promise<void>>();
  const inOrder = (deviceId: string, step: () => Promise<unknown>, what: string) => {
    const next = (chains.get(deviceId) ?? Promise.resolve()).then(step).then(
      () => undefined,
      (err: unknown) => fail(what)(err),
    );
    chains.set(deviceId, next);
    void next.finally(() => {
      if (chains.get(deviceId) === next) chains.delete(deviceId);
    });
  };

  const encode = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');

  const sendDesired = (deviceId: string, link: Link, rec: DesiredTwinRecord) => {
    if (!engine || !link.desired || rec.version <= link.sentDesired) return;
    const body: DesiredTwin = { version: rec.version, state: rec.state };
    const ok = engine.deliverTo(deviceId, {
      topic: deviceTopic.desired(deviceId),
      payload: encode(body),
      qos: 1,
      retain: true,
      properties: { contentType: 'application/json' },
    });
    if (ok) link.sentDesired = rec.version;
  };

  const sendCommand = (link: Link, c: CommandRecord) => {
    if (!engine || !link.commands || link.sentCommands.has(c.id) || c.state !== 'queued') return;
    const body: CommandRequest = {
      id: c.id,
      name: c.name,
      params: c.params,
      deadline: new Date(c.deadline).toISOString(),
    };
    const ok = engine.deliverTo(c.deviceId, {
      topic: deviceTopic.command(c.deviceId, c.id),
      payload: encode(body),
      qos: 1,
      properties: { contentType: 'application/json' },
    });
    if (ok) link.sentCommands.add(c.id);
  };

  /** Everything owed to one device: its desired twin if newer, and its queued commands. */
  const catchUp = async (deviceId: string, link: Link) => {
    if (link.desired) {
      const rec = await s.twins.desired(link.orgId, deviceId);
      if (rec && links.get(deviceId) === link) sendDesired(deviceId, link, rec);
    }
    if (link.commands) {
      for (const c of await s.commands.pending(link.orgId, [deviceId], COMMANDS_PER_SWEEP)) {
        if (links.get(deviceId) === link) sendCommand(link, c);
      }
    }
  };

  let sweeps = 0;
  const heartbeat = async () => {
    const byOrg = groupBy(
      links.values(),
      (l) => l.orgId,
      (l) => l.sessionId,
    );
    for (const [orgId, sessions] of byOrg) await s.presence.heartbeat(orgId, sessions);
    // Vouch first, then reap: a device connected here is never taken for stale.
    await s.presence.reapStale(STALE_MS);
  };

  const sweepOnce = async () => {
    if (sweeps++ % HEARTBEAT_EVERY_SWEEPS === 0) await heartbeat();
    await s.commands.expireDue();
    await updates.sweep();
    const subscribed = [...links].filter(([, l]) => l.desired || l.commands);
    const byOrg = groupBy(
      subscribed,
      ([, l]) => l.orgId,
      ([id]) => id,
    );
    for (const [orgId, ids] of byOrg) {
      const versions = await s.twins.desiredVersions(orgId, ids);
      for (const id of ids) {
        const l = links.get(id);
        if (l?.desired && (versions.get(id) ?? 0) > l.sentDesired) {
          const rec = await s.twins.desired(orgId, id);
          if (rec && links.get(id) === l) sendDesired(id, l, rec);
        }
      }
      for (const c of await s.commands.pending(orgId, ids, COMMANDS_PER_SWEEP * ids.length)) {
        const l = links.get(c.deviceId);
        if (l) sendCommand(l, c);
      }
    }
  };

  const unlisten = s.managementSignals.listen({
    desiredChanged: (rec) => {
      const l = links.get(rec.deviceId);
      if (l && l.orgId === rec.orgId) sendDesired(rec.deviceId, l, rec);
    },
    commandQueued: (c) => {
      const l = links.get(c.deviceId);
      if (l && l.orgId === c.orgId) sendCommand(l, c);
    },
  });

  const hook: DevicePlaneHook = {
    async publish(c: HubClient, rest: string, msg) {
      if (stopping && msg.will) return true; // the hub is going down, the device did not
      const { orgId, id } = c;
      if (rest === 'twin/reported') {
        await s.twins.acceptReported(orgId, id, parseReportedTwin(msg.payload));
        return true;
      }
      if (await updates.publish(c, rest, msg)) return true;
      const status = /^commands\/([^/]+)\/status$/.exec(rest);
      if (status) {
        await s.commands.acceptStatus(orgId, id, status[1]!, parseCommandStatus(msg.payload));
        return true;
      }
      switch (rest) {
        case 'events': {
          const events = parseDeviceEvents(msg.payload);
          await s.presence.events(orgId, id, events);
          // Sessions on the device's local management port belong in the audit log too.
          for (const e of events) await s.tickets.recordLocalSession(orgId, id, e);
          return true;
        }
        case 'metrics':
          await s.presence.metrics(orgId, id, c.sessionId, parseDeviceMetrics(msg.payload));
          return true;
        case 'presence':
          await s.presence.report(
            orgId,
            id,
            c.sessionId,
            parsePresence(msg.payload),
            msg.will === true,
          );
          return true;
        default:
          return false; // not a management message: routed as any other
      }
    },
    connected(c) {
      links.set(c.id, {
        orgId: c.orgId,
        sessionId: c.sessionId,
        desired: false,
        commands: false,
        sentDesired: 0,
        sentCommands: new Set(),
      });
      updates.connected(c);
      inOrder(c.id, () => s.presence.connected(c.orgId, c.id, c.sessionId), 'presence (connect)');
    },
    disconnected(c, reason, clean) {
      if (links.get(c.id)?.sessionId === c.sessionId) links.delete(c.id);
      updates.disconnected(c);
      // The hub going down, or cutting a revoked device, is not the device dropping off.
      const said = clean || stopping || reason === 'administrative' || reason === 'engine_closed';
      inOrder(
        c.id,
        () => s.presence.disconnected(c.orgId, c.id, c.sessionId, { clean: said, reason }),
        'presence (disconnect)',
      );
    },
    subscribed(c, filters) {
      const link = links.get(c.id);
      if (!link || link.sessionId !== c.sessionId) return;
      const desiredTopic = deviceTopic.desired(c.id);
      const commandTopic = deviceTopic.command(c.id, 'x');
      let changed = false;
      for (const f of filters) {
        if (topicMatches(f, desiredTopic)) {
          link.desired = true;
          link.sentDesired = 0; // every (re)subscription gets the current desired twin, retained
          changed = true;
        }
        if (topicMatches(f, commandTopic)) {
          link.commands = true;
          changed = true;
        }
      }
      if (changed) catchUp(c.id, link).catch(fail('delivery on subscribe'));
      if (filters.some((f) => topicMatches(f, updateTopic.offer(c.id, 'x')))) updates.subscribed(c);
    },
  };

  const plane: DevicePlane = {
    hook,
    heartbeat,
    start(e) {
      engine = e;
      timer = setInterval(() => {
        void plane.sweep();
      }, d.sweepMs ?? DEVICE_PLANE_SWEEP_MS);
      timer.unref();
    },
    async sweep() {
      // One sweep at a time: a slow database must not pile them up.
      if (sweeping) return sweeping;
      sweeping = sweepOnce()
        .catch(fail('sweep'))
        .finally(() => {
          sweeping = null;
        });
      return sweeping;
    },
    stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      timer = null;
      unlisten();
      updates.stop();
    },
    async drain() {
      await Promise.all([...chains.values(), sweeping ?? Promise.resolve()]);
    },
  };
  return plane;
}

/** Groups values by a key. */
function groupBy<T>(
  items: Iterable<T>,
  key: (t: T) => string,
  value: (t: T) => string,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of items) {
    const k = key(t);
    const list = out.get(k);
    if (list) list.push(value(t));
    else out.set(k, [value(t)]);
  }
  return out;
}

/** Does an MQTT filter match a topic (the device's own `$devices/…` topics)? */
function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
