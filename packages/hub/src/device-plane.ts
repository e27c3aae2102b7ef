/**
 * Wiring of the device management plane (decision 0015): core's `DevicePlane` on the hub's
 * services, its MQTT link and hook from transport, and the node's 2 s sweep timer.
 */
import type { Logger } from 'pino';
import { DevicePlane as CorePlane, GatewayPlane } from '@bulwark/core';
import {
  mqttDeviceLink,
  mqttDevicePlaneHook,
  type DevicePlaneHook,
  type MqttEngine,
} from '@bulwark/transport';
import type { TunnelOffer } from '@bulwark/protocol';
import type { HubServices } from './services.js';

/** How often each node sweeps for work made elsewhere and for expired commands. */
export const DEVICE_PLANE_SWEEP_MS = 2000;

/** The device plane of one hub node. */
export interface DevicePlane {
  /** For the MQTT hooks. */
  readonly hook: DevicePlaneHook;
  /** Starts delivering and sweeping on this engine. */
  start(engine: MqttEngine): void;
  /** One sweep now (the timer calls this; tests too). */
  sweep(): Promise<void>;
  /** Vouch for this node's devices and reap stale presence now (every ~30 s on its own). */
  heartbeat(): Promise<void>;
  /** Asks a device on this node to dial a relay session (decision 0042). */
  offerTunnel(orgId: string, deviceId: string, offer: TunnelOffer): boolean;
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
  const { services: s } = d;
  let engine: MqttEngine | null = null;
  let timer: NodeJS.Timeout | undefined;
  // Site devices behind a gateway get proxy sessions, delivered through the gateway (0040).
  const gateways = new GatewayPlane({
    sites: s.gatewaySites,
    clock: { now: () => Date.now() },
    events: s.events,
  });
  const plane = new CorePlane({
    twins: s.twins,
    commands: s.commands,
    presence: s.presence,
    tickets: s.tickets,
    logs: s.deviceLogs,
    updates: s.updates,
    signals: s.managementSignals,
    link: gateways.link(
      mqttDeviceLink(() => engine),
      (gw, rest, payload) =>
        // The gateway's session key is its device id (sessionKeyOf), as for any device.
        engine === null
          ? false
          : engine.deliverTo(gw.gatewayId, {
              topic: `$devices/${gw.gatewayId}/${rest}`,
              payload,
              qos: 1,
              retain: false,
              properties: { contentType: 'application/json' },
            }),
    ),
    log: d.log,
    detect: s.detect.engine,
    history: s.metricsHistory,
  });
  s.gatewayUplink.plane = gateways;
  return {
    hook: mqttDevicePlaneHook(gateways.inbound(plane)),
    start(e) {
      engine = e;
      timer = setInterval(() => void plane.sweep(), d.sweepMs ?? DEVICE_PLANE_SWEEP_MS).unref();
    },
    sweep: () => plane.sweep(),
    offerTunnel: (orgId, deviceId, offer) => plane.offerTunnel(orgId, deviceId, offer),
    heartbeat: () => plane.heartbeat(),
    stop() {
      clearInterval(timer);
      plane.stop();
    },
    drain: () => plane.drain(),
  };
}
