/**
 * The device plane through the gateway, the gateway's side (decision 0040, amendment "device
 * plane"). A site device uses its own `$devices/{id}/…` topics on the local broker exactly as on
 * the hub — an unmodified agent works behind a gateway:
 *
 * - **Down.** The gateway tells the hub which site devices are connected and what they subscribed
 *   to (`$devices/{gw}/sessions`, a snapshot on every change and after every reconnect); the hub
 *   sends their desired twin, commands and update offers on `$devices/{gw}/downlink/{id}/{rest}`;
 *   the gateway keeps each durably (PlaneStore) and hands it to the device on
 *   `$devices/{id}/{rest}` with the QoS of the device-plane table — now, or when it next connects.
 * - **Up.** What the device reports on its plane (reported twin, command and update statuses,
 *   events, logs, metrics, firmware) joins the durable uplink queue, in order with its channel
 *   data; the device is acknowledged once it is durable; the hub accepts it as the device's.
 *   Its presence is not forwarded: the session snapshot stands for it.
 *
 * Rights are the hub's, as synced: a device uses only its own plane, within what its state opens
 * (core's policy: a quarantined device keeps management and updates, not channels).
 */
import { DEVICE_PLANES, planeOfKind } from '@bulwark/core';
import {
  DEVICE_PLANE,
  GATEWAY_SESSIONS,
  RELAYED_KINDS,
  devicePlaneTopic,
  hubMessagesCovered,
  parseDevicePlaneTopic,
  parseGatewayDownlink,
  relayedReport,
  type CommandRequest,
  type DevicePlaneKind,
  type GatewaySessions,
} from '@bulwark/protocol';
import type { DeviceState } from '@bulwark/core';
import type { MqttEngine } from '@bulwark/transport';
import { MqttRefusal } from '@bulwark/transport';
import type { PlaneStore } from './plane-store.js';
import { QueueFullError, type UplinkQueue } from './queue.js';
import type { Site } from './site.js';

/** The agent's link as the plane uses it. */
export interface PlaneUplink {
  connected(): boolean;
  publishOwn(rest: string, payload: Uint8Array): Promise<void>;
  subscribeOwn(filters: string[]): Promise<void>;
}

/** Changes of sessions are sent at most this often (a burst of connects is one snapshot). */
const SNAPSHOT_DELAY_MS = 50;
/** A snapshot the hub did not acknowledge is sent again after this. */
const SNAPSHOT_RETRY_MS = 1_000;
/** Tunnel offers remembered at once (the hub holds at most 256 relay sessions per node). */
const MAX_OFFERS = 1_024;
/** An offer is good while its session waits for its legs (the hub's pair timeout is 30 s). */
const OFFER_MS = 60_000;

const dec = new TextDecoder();

export class LocalPlane {
  #engine: MqttEngine | undefined;
  /** Site devices connected here: what hub messages their subscriptions take. */
  readonly #sessions = new Map<string, Set<DevicePlaneKind>>();
  /** Per connected device, what was handed to this connection (`kind|param`). */
  readonly #sent = new Map<string, Set<string>>();
  readonly #conn = new Map<string, object>();
  /** Tunnel offers handed to site devices: session id → device and until when it may dial. */
  readonly #offers = new Map<string, { device: string; until: number }>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Snapshots sent and acknowledged; downlink messages received; refused. */
  readonly stats = { snapshots: 0, downlink: 0, dropped: 0, reports: 0 };

  constructor(
    private readonly o: {
      store: PlaneStore;
      queue: UplinkQueue;
      uplink: PlaneUplink;
      site: () => Site | undefined;
      accepted: () => void;
      log: (level: 'warn' | 'info' | 'debug', msg: string) => void;
    },
  ) {}

  /** The local broker's engine (after it started). */
  attach(engine: MqttEngine): void {
    this.#engine = engine;
  }

  // ── the local broker's hooks for `$devices/{id}/…` ───────────────────────────────────────────

  /** May site device `id` (in `state`) publish on its own plane at `rest`? */
  mayPublish(state: string, rest: string): boolean {
    const m = parseDevicePlaneTopic(rest);
    return m !== undefined && DEVICE_PLANE[m.kind].from === 'device' && opens(state, m.kind);
  }

  /** May it subscribe to `rest` (a filter under its own plane)? */
  maySubscribe(id: string, state: string, filter: string): boolean {
    const kinds = hubMessagesCovered(id, filter);
    return kinds.length > 0 && kinds.every((k) => opens(state, k));
  }

  /** A report of device `id` at `rest`: durable in the uplink queue before it is acknowledged. */
  async report(
    id: string,
    rest: string,
    msg: { payload: Uint8Array; contentType?: string | undefined; will?: boolean },
  ): Promise<void> {
    const kind = relayedReport(rest);
    // Presence (and the will, which is presence): the session snapshot stands for it.
    if (kind === undefined || msg.will) return;
    try {
      await this.o.queue.add({
        device: id,
        channel: '',
        subtopic: rest,
        contentType: msg.contentType,
        payload: msg.payload,
      });
    } catch (err) {
      throw new MqttRefusal(0x97, err instanceof QueueFullError ? err.message : 'storage failed');
    }
    this.stats.reports++;
    const m = parseDevicePlaneTopic(rest)!;
    if (m.kind === 'commandStatus') this.o.store.answered(id, 'command', m.param!);
    if (m.kind === 'updateStatus') this.o.store.answered(id, 'updateOffer', m.param!);
    this.o.accepted();
  }

  subscribed(id: string, filters: readonly string[]): void {
    const takes = this.#sessions.get(id) ?? new Set<DevicePlaneKind>();
    let desired = false;
    for (const f of filters)
      for (const k of hubMessagesCovered(id, f))
        if (RELAYED_KINDS.includes(k)) {
          takes.add(k);
          desired ||= k === 'desired';
        }
    this.#sessions.set(id, takes);
    // A (re)subscription to the twin gets the current desired twin, as a retained message would.
    if (desired) this.#sent.get(id)?.delete('desired|');
    this.#changed();
    this.#deliver(id);
  }

  /** `conn` is the connection (a newer one of the same device takes over). */
  connected(id: string, conn: object): void {
    this.#conn.set(id, conn);
    this.#sent.set(id, new Set());
    this.#sessions.set(id, new Set());
    this.#changed();
  }

  disconnected(id: string, conn: object): void {
    if (this.#conn.get(id) !== conn) return; // taken over: the newer connection stays
    this.#conn.delete(id);
    this.#sent.delete(id);
    if (this.#sessions.delete(id)) this.#changed();
  }

  // ── the hub's side ───────────────────────────────────────────────────────────────────────────

  /** The link to the hub is up: subscribe to the downlink, then tell the hub who is here. */
  async linkUp(): Promise<void> {
    try {
      await this.o.uplink.subscribeOwn(['downlink/#']);
    } catch (err) {
      this.o.log('warn', `downlink subscription: ${(err as Error).message}`);
      return;
    }
    await this.#sendSnapshot();
  }

  /** A message on the gateway's own plane from the hub (`own-message`). */
  downlink(rest: string, payload: Uint8Array): void {
    const m = parseGatewayDownlink(rest);
    if (!m) return;
    if (!this.o.site()?.devices.has(m.deviceId)) {
      this.o.log('warn', `downlink for ${m.deviceId}, not a device of this site: dropped`);
      this.stats.dropped++;
      return;
    }
    if (m.kind === 'tunnel') return this.#offerTunnel(m.deviceId, m.param ?? '', payload);
    let deadline = 0;
    if (m.kind === 'command') {
      try {
        const v = JSON.parse(dec.decode(payload)) as { deadline?: unknown };
        deadline = typeof v.deadline === 'string' ? Date.parse(v.deadline) : NaN;
      } catch {
        deadline = NaN;
      }
      // Handed on as it came: the agent refuses a malformed command itself (invalid_params).
      if (!Number.isFinite(deadline)) deadline = 0;
    }
    this.stats.downlink++;
    const kept = this.o.store.put({
      device: m.deviceId,
      kind: m.kind,
      param: m.param ?? '',
      payload,
      deadline,
    });
    if (!kept) {
      this.stats.dropped++;
      this.o.log('warn', `plane store full: ${m.kind} for ${m.deviceId} dropped (the hub resends)`);
      return;
    }
    // A new message of the same command/job/twin is handed out again.
    this.#sent.get(m.deviceId)?.delete(`${m.kind}|${m.param ?? ''}`);
    this.#deliver(m.deviceId);
  }

  /**
   * A command the gateway itself sends site device `id` (a rule fired here, rules.ts): held
   * durably like one from the hub and handed out the same way; the device's result goes up in
   * the uplink as usual. False when the plane store is full.
   */
  localCommand(id: string, body: CommandRequest, deadline: number): boolean {
    const kept = this.o.store.put({
      device: id,
      kind: 'command',
      param: body.id,
      payload: Buffer.from(JSON.stringify(body)),
      deadline,
    });
    if (kept) this.#deliver(id);
    return kept;
  }

  /**
   * The device a tunnel offer for relay session `sessionId` was handed to, while it may still
   * dial (the relay on the LAN server admits only that device's leg for it).
   */
  offeredTo(sessionId: string): string | undefined {
    const o = this.#offers.get(sessionId);
    if (o === undefined || o.until < Date.now()) return undefined;
    return o.device;
  }

  /**
   * A tunnel offer is handed on at once to the device's connection, or dropped: it is good only
   * while its relay session waits (the hub does not queue offers either), so it is never held.
   */
  #offerTunnel(id: string, sessionId: string, payload: Uint8Array): void {
    const engine = this.#engine;
    const now = Date.now();
    for (const [k, o] of this.#offers) if (o.until < now) this.#offers.delete(k);
    if (!engine || !this.#sessions.get(id)?.has('tunnel') || this.#offers.size >= MAX_OFFERS) {
      this.stats.dropped++;
      this.o.log('warn', `tunnel offer ${sessionId} for ${id}: the device cannot take it now`);
      return;
    }
    this.stats.downlink++;
    this.#offers.set(sessionId, { device: id, until: now + OFFER_MS });
    const spec = DEVICE_PLANE.tunnel;
    engine.deliverTo(id, {
      topic: devicePlaneTopic('tunnel', id, sessionId),
      payload,
      qos: spec.qos,
      retain: spec.retain,
      properties: { contentType: 'application/json' },
    });
  }

  /** Commands dropped at their deadline without reaching their device. */
  get expired(): number {
    return this.o.store.expired;
  }

  /** Drops expired commands (the gateway's timer). */
  prune(): void {
    this.o.store.prune();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** What device `id` is owed and its subscriptions take, handed to its connection. */
  #deliver(id: string): void {
    const engine = this.#engine;
    const takes = this.#sessions.get(id);
    const sent = this.#sent.get(id);
    if (!engine || !takes || !sent) return;
    for (const h of this.o.store.pending(id)) {
      const key = `${h.kind}|${h.param}`;
      if (!takes.has(h.kind) || sent.has(key)) continue;
      const spec = DEVICE_PLANE[h.kind];
      const ok = engine.deliverTo(id, {
        topic: devicePlaneTopic(h.kind, id, h.param),
        payload: h.payload,
        qos: spec.qos,
        retain: spec.retain,
        properties: { contentType: 'application/json' },
      });
      if (ok) sent.add(key);
    }
  }

  #changed(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#sendSnapshot();
    }, SNAPSHOT_DELAY_MS);
  }

  async #sendSnapshot(): Promise<void> {
    if (this.#stopped || !this.o.uplink.connected()) return; // linkUp sends one
    const doc: GatewaySessions = {
      v: 1,
      devices: [...this.#sessions].map(([id, takes]) => ({ id, takes: [...takes] })),
    };
    try {
      await this.o.uplink.publishOwn(GATEWAY_SESSIONS, Buffer.from(JSON.stringify(doc)));
      this.stats.snapshots++;
    } catch (err) {
      this.o.log('debug', `session snapshot not acknowledged: ${(err as Error).message}`);
      if (!this.#stopped && this.o.uplink.connected() && this.#timer === undefined)
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          void this.#sendSnapshot();
        }, SNAPSHOT_RETRY_MS);
    }
  }
}

/** Does a device in `state` have the plane of this message open (core's policy)? */
function opens(state: string, kind: DevicePlaneKind): boolean {
  const planes = DEVICE_PLANES[state as DeviceState] as readonly string[] | undefined;
  return planes?.includes(planeOfKind(kind)) ?? false;
}
