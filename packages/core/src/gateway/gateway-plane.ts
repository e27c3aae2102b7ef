/**
 * The hub's side of the device plane through a gateway (decision 0040, amendment "device plane").
 *
 * A site device connected to gateway G's local broker gets a **proxy session** on the hub's device
 * plane: G's session snapshot (`$devices/G/sessions`) opens, updates and closes it, so presence,
 * the desired twin, queued commands and update offers work for it exactly as for a directly
 * connected device — only the link differs: `link()` hands a proxy session's messages to G on
 * `$devices/G/downlink/{X}/{rest}`. A direct connection of X wins: while X is connected to the hub
 * itself its proxy is kept on standby (nothing is sent through G) and taken up again when the
 * direct connection ends. When G's own connection ends, its proxies end with it.
 *
 * What X reports through G (the uplink's `plane` messages) reaches the device plane **as X**, only
 * if G may speak for X (same organization, X in G's site or tagged for it) and X's state opens
 * that plane (policy.ts: a quarantined device keeps management and updates, as on a direct
 * connection); everything else is refused and reported (`authz.denied`, principal G).
 */
import { randomUUID } from 'node:crypto';
import {
  BulwarkError,
  DEVICE_PLANE,
  gatewayDownlinkRest,
  parseDevicePlaneTopic,
  parseGatewaySessions,
  type DevicePlaneKind,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { Device } from '../ports/records.js';
import { DEVICE_PLANES, planeOfKind } from '../edge/policy.js';
import type {
  DeviceLink,
  DeviceOutbound,
  DevicePlaneInbound,
  DeviceSession,
  SessionEnd,
} from '../device-plane/link.js';
import type { GatewaySites } from './gateway-sites.js';

/** Hands a message for site device `deviceId` to gateway `gatewayId`'s session on this node. */
export type GatewayDownlink = (
  gateway: { orgId: string; gatewayId: string },
  rest: string,
  payload: Uint8Array,
) => boolean;

/** One site device's session through a gateway. */
interface Proxy {
  session: DeviceSession;
  takes: DevicePlaneKind[];
  /** Open on the device plane (false: on standby behind a direct connection). */
  open: boolean;
}

/** A gateway connected to this node, and the proxies its snapshot holds. */
interface GatewayEntry {
  orgId: string;
  gatewayId: string;
  /** The gateway's own connection the proxies belong to. */
  sessionId: string;
  proxies: Map<string, Proxy>;
}

export class GatewayPlane {
  #plane: DevicePlaneInbound | undefined;
  readonly #gateways = new Map<string, GatewayEntry>();
  /** Proxy session id → its gateway (link routing). */
  readonly #bySession = new Map<string, GatewayEntry>();
  /** Devices connected to this node directly: device id → session id. */
  readonly #direct = new Map<string, string>();
  /** Snapshots of one gateway are applied one at a time, in order. */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly d: {
      sites: Pick<GatewaySites, 'gateway' | 'member'>;
      clock: Clock;
      events?: DomainEvents;
    },
  ) {}

  /**
   * The device plane's link: a proxy session's messages go to its gateway, everything else to
   * `inner` (the MQTT link of direct connections).
   */
  link(inner: DeviceLink, downlink: GatewayDownlink): DeviceLink {
    return {
      deliver: (session, message) => {
        const g = this.#bySession.get(session.sessionId);
        if (!g) return inner.deliver(session, message);
        const rest = relayRest(message);
        if (rest === undefined) return false;
        return downlink(
          g,
          gatewayDownlinkRest(session.deviceId, rest),
          Buffer.from(JSON.stringify(message.body), 'utf8'),
        );
      },
    };
  }

  /**
   * The device plane's inbound side, wrapped: direct connections are tracked (a direct one puts
   * a proxy on standby) and a gateway's own disconnect ends its proxies.
   */
  inbound(plane: DevicePlaneInbound): DevicePlaneInbound {
    this.#plane = plane;
    return {
      connected: (s) => {
        for (const g of this.#gateways.values()) {
          const p = g.proxies.get(s.deviceId);
          if (p?.open && g.orgId === s.orgId) this.#close(p, 'connected_directly', true);
        }
        this.#direct.set(s.deviceId, s.sessionId);
        plane.connected(s);
      },
      disconnected: (s, end) => {
        plane.disconnected(s, end);
        if (this.#direct.get(s.deviceId) === s.sessionId) {
          this.#direct.delete(s.deviceId);
          // Back behind its gateway, if one holds it.
          for (const g of this.#gateways.values()) {
            const p = g.proxies.get(s.deviceId);
            if (p && !p.open && g.orgId === s.orgId) this.#open(g, p);
          }
        }
        const g = this.#gateways.get(s.deviceId);
        if (g?.sessionId === s.sessionId) this.#drop(g, 'gateway_disconnected');
      },
      subscribed: (s, kinds) => plane.subscribed(s, kinds),
      report: (s, rest, payload, opts) => plane.report(s, rest, payload, opts),
    };
  }

  /** Applies gateway G's snapshot of its connected devices (`$devices/G/sessions`). */
  async sessions(
    gw: { orgId: string; id: string; sessionId: string },
    bytes: Uint8Array,
  ): Promise<void> {
    // Parsed, then in line, before anything is awaited: snapshots apply in the order sent.
    const snapshot = parseGatewaySessions(bytes);
    const next = (this.#chains.get(gw.id) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.#apply(gw, snapshot.devices));
    this.#chains.set(gw.id, next);
    void next
      .finally(() => {
        if (this.#chains.get(gw.id) === next) this.#chains.delete(gw.id);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * A report device X made through gateway G (an uplink `plane` message): handed to the device
   * plane as X's, or refused for good (BulwarkError `not_authorized`, reported as a denial).
   */
  async report(g: Device, deviceId: string, rest: string, payload: Uint8Array): Promise<void> {
    const plane = this.#plane;
    if (!plane) throw new BulwarkError('unavailable', 'the device plane is not started');
    const kind = parseDevicePlaneTopic(rest)?.kind;
    const x = await this.d.sites.member(g, deviceId);
    // The caller reports the denial (GatewayUplink: authz.denied, principal G).
    if (
      !kind ||
      DEVICE_PLANE[kind].from !== 'device' ||
      kind === 'presence' ||
      !x ||
      !opens(x, kind)
    )
      throw new BulwarkError(
        'not_authorized',
        `the gateway may not report ${rest} for ${deviceId}`,
      );
    const entry = this.#gateways.get(g.id);
    const proxy = entry?.orgId === g.orgId ? entry.proxies.get(deviceId) : undefined;
    const session: DeviceSession = proxy?.session ?? {
      orgId: g.orgId,
      deviceId,
      sessionId: `gateway:${g.id}`,
    };
    await plane.report(session, rest, payload);
  }

  /** The proxies held for gateway G here (tests, status). */
  held(gatewayId: string): { deviceId: string; open: boolean; takes: DevicePlaneKind[] }[] {
    const g = this.#gateways.get(gatewayId);
    return g
      ? [...g.proxies.values()].map((p) => ({
          deviceId: p.session.deviceId,
          open: p.open,
          takes: p.takes,
        }))
      : [];
  }

  async #apply(
    gw: { orgId: string; id: string; sessionId: string },
    devices: { id: string; takes: DevicePlaneKind[] }[],
  ): Promise<void> {
    const gateway = await this.d.sites.gateway(gw.orgId, gw.id);
    const wanted = new Map<string, DevicePlaneKind[]>();
    for (const d of devices) {
      const x = await this.d.sites.member(gateway, d.id);
      const takes = x ? d.takes.filter((k) => opens(x, k)) : [];
      if (!x || DEVICE_PLANES[x.state].length === 0) {
        this.#denied(gw.orgId, gw.id, 'subscribe', `gateway:${d.id}`);
        continue;
      }
      wanted.set(d.id, takes);
    }
    // Only the gateway's live connection holds proxies: it may have ended during the lookups.
    if (this.#direct.get(gw.id) !== gw.sessionId) return;
    let g = this.#gateways.get(gw.id);
    if (g && g.sessionId !== gw.sessionId) {
      this.#drop(g, 'gateway_reconnected');
      g = undefined;
    }
    if (!g) {
      g = { orgId: gw.orgId, gatewayId: gw.id, sessionId: gw.sessionId, proxies: new Map() };
      this.#gateways.set(gw.id, g);
    }
    for (const [id, p] of g.proxies)
      if (!wanted.has(id)) {
        g.proxies.delete(id);
        if (p.open) this.#close(p, 'left_gateway', false);
        this.#bySession.delete(p.session.sessionId);
      }
    for (const [id, takes] of wanted) {
      const p = g.proxies.get(id);
      if (!p) {
        const fresh: Proxy = {
          session: { orgId: gw.orgId, deviceId: id, sessionId: `gw-${randomUUID()}` },
          takes,
          open: false,
        };
        g.proxies.set(id, fresh);
        this.#bySession.set(fresh.session.sessionId, g);
        if (!this.#direct.has(id)) this.#open(g, fresh);
      } else {
        const added = takes.filter((k) => !p.takes.includes(k));
        p.takes = takes;
        if (p.open && added.length > 0) this.#plane?.subscribed(p.session, added);
      }
    }
  }

  /** Opens (or re-opens, with a new session id) a proxy on the device plane. */
  #open(g: GatewayEntry, p: Proxy): void {
    if (!this.#plane) return;
    this.#bySession.delete(p.session.sessionId);
    p.session = { ...p.session, sessionId: `gw-${randomUUID()}` };
    this.#bySession.set(p.session.sessionId, g);
    p.open = true;
    this.#plane.connected(p.session);
    if (p.takes.length > 0) this.#plane.subscribed(p.session, p.takes);
  }

  #close(p: Proxy, reason: string, clean: boolean): void {
    p.open = false;
    const end: SessionEnd = { clean, reason };
    this.#plane?.disconnected(p.session, end);
  }

  /** Gateway G's connection ended: its proxies end (clean: the devices did not drop off). */
  #drop(g: GatewayEntry, reason: string): void {
    for (const p of g.proxies.values()) {
      if (p.open) this.#close(p, reason, true);
      this.#bySession.delete(p.session.sessionId);
    }
    g.proxies.clear();
    if (this.#gateways.get(g.gatewayId) === g) this.#gateways.delete(g.gatewayId);
  }

  #denied(orgId: string, gatewayId: string, action: 'publish' | 'subscribe', resource: string) {
    this.d.events?.emit({
      type: 'authz.denied',
      orgId,
      at: this.d.clock.now(),
      principal: { type: 'device', id: gatewayId },
      transport: 'mqtt',
      action,
      resource,
    });
  }
}

/** Does device X's state open the plane of this message (as on a direct connection)? */
const opens = (x: Device, kind: DevicePlaneKind): boolean =>
  DEVICE_PLANES[x.state].includes(planeOfKind(kind));

/** The levels of the device's own topic a hub message goes to. */
function relayRest(m: DeviceOutbound): string | undefined {
  switch (m.kind) {
    case 'desired':
      return DEVICE_PLANE.desired.rest;
    case 'command':
      return `commands/${m.body.id}`;
    case 'updateOffer':
      return `updates/${m.body.id}`;
    case 'tunnel':
      return `tunnels/${m.body.id}`;
    default:
      return undefined;
  }
}
