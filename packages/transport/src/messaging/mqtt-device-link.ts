/**
 * The MQTT adapter of core's device-plane port (decision 0015): `DeviceLink.deliver` as the
 * engine's `deliverTo` on the device's session, with the topic, QoS and retain flag of protocol's
 * `DEVICE_PLANE` table; and the hub's MQTT `DevicePlaneHook` (mqtt-hooks.ts) turned into the
 * port's inbound calls — the device's session, its subscriptions as the hub messages they cover,
 * its publishes on `$devices/{id}/…` as reports.
 */
import {
  DEVICE_PLANE,
  devicePlaneTopic,
  hubMessagesCovered,
  type DevicePlaneKind,
} from '@bulwark/protocol';
import type { DeviceLink, DevicePlaneInbound, DeviceSession } from '@bulwark/core';
import type { MqttEngine } from '../mqtt/engine.js';
import type { DevicePlaneHook, HubClient } from './mqtt-hooks.js';

/**
 * The engine's key of a device's session: core's `sessionKeyOf` for a device principal, its id
 * (hub-wide unique, so it names organization + device; no application key can take that form).
 */
const sessionKey = (s: DeviceSession): string => s.deviceId;

/** The device plane's link over MQTT; `engine()` is null until the engine is started. */
export function mqttDeviceLink(engine: () => MqttEngine | null): DeviceLink {
  return {
    deliver(session, message) {
      const e = engine();
      if (e === null) return false;
      const spec = DEVICE_PLANE[message.kind];
      const param = message.kind === 'desired' ? undefined : message.body.id;
      return e.deliverTo(sessionKey(session), {
        topic: devicePlaneTopic(message.kind, session.deviceId, param),
        payload: Buffer.from(JSON.stringify(message.body), 'utf8'),
        qos: spec.qos,
        retain: spec.retain,
        properties: { contentType: 'application/json' },
      });
    },
  };
}

/** A connected device client as a device-plane session. */
const sessionOf = (c: HubClient): DeviceSession => ({
  orgId: c.orgId,
  deviceId: c.id,
  sessionId: c.sessionId,
});

/** Engine reasons that are the hub ending the session (revocation, shutdown), not the device. */
const HUB_ENDED = ['administrative', 'engine_closed'];

/** The hub's MQTT device-plane hook on core's device plane. */
export function mqttDevicePlaneHook(plane: DevicePlaneInbound): DevicePlaneHook {
  return {
    publish: (c, rest, msg) =>
      plane.report(sessionOf(c), rest, msg.payload, { will: msg.will === true }),
    connected: (c) => plane.connected(sessionOf(c)),
    disconnected: (c, reason, clean) =>
      plane.disconnected(sessionOf(c), { clean: clean || HUB_ENDED.includes(reason), reason }),
    subscribed: (c, filters) => {
      const kinds = new Set<DevicePlaneKind>();
      for (const f of filters) for (const k of hubMessagesCovered(c.id, f)) kinds.add(k);
      if (kinds.size > 0) plane.subscribed(sessionOf(c), [...kinds]);
    },
  };
}
